import { Global, Module } from '@nestjs/common';
import { AllExceptionsFilter } from 'src/common/filters/all-exceptions.filter';

/**
 * The one exception filter instance (global: inject `AllExceptionsFilter`). AppModule registers it as
 * APP_FILTER; the error handlers outside Nest's pipeline (body parser, CORS preflight, the metrics listener)
 * use the same instance, so every error goes through one filter with one error sink.
 */
@Global()
@Module({ providers: [AllExceptionsFilter], exports: [AllExceptionsFilter] })
export class FiltersModule {}
