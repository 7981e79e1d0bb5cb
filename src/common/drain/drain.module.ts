import { Global, Module } from '@nestjs/common';
import { DrainService } from 'src/common/drain/drain.service';

/** Graceful drain (global: inject `DrainService`). Its guard, `DrainGuard`, is registered in AppModule. */
@Global()
@Module({ providers: [DrainService], exports: [DrainService] })
export class DrainModule {}
