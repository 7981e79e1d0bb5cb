import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ERROR_SINK } from 'src/common/metrics/error-sink';
import { ErrorLog } from 'src/monitoring/entities/error-log.entity';
import { ErrorLogRepository } from 'src/monitoring/error-log.repository';
import { ErrorLogService } from 'src/monitoring/error-log.service';

/** The error log writer, global so the exception filter and any module can inject `ERROR_SINK`. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([ErrorLog])],
  providers: [ErrorLogRepository, ErrorLogService, { provide: ERROR_SINK, useExisting: ErrorLogService }],
  exports: [ErrorLogRepository, ErrorLogService, ERROR_SINK],
})
export class ErrorLogModule {}
