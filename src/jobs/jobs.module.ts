import { Module } from '@nestjs/common';
import { JobRunner } from 'src/jobs/job-runner.service';
import { StreamingModule } from 'src/streaming/streaming.module';

/** The one background-job runner (JobRunner) that chat replies and research runs both run on. */
@Module({
  imports: [StreamingModule],
  providers: [JobRunner],
  exports: [JobRunner],
})
export class JobsModule {}
