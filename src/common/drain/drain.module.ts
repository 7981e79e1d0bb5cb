import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DrainGuard } from 'src/common/drain/drain.guard';
import { DrainService } from 'src/common/drain/drain.service';

/** Graceful drain (global: inject `DrainService`); its guard refuses new streams while draining. */
@Global()
@Module({ providers: [DrainService, { provide: APP_GUARD, useClass: DrainGuard }], exports: [DrainService] })
export class DrainModule {}
