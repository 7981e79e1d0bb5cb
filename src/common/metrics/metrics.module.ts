import { Global, Module } from '@nestjs/common';
import { HttpMetricsMiddleware } from 'src/common/metrics/http-metrics.middleware';
import { MetricsService } from 'src/common/metrics/metrics.service';

/** The one Prometheus registry (global: inject `MetricsService` anywhere) and the HTTP metrics middleware. */
@Global()
@Module({ providers: [MetricsService, HttpMetricsMiddleware], exports: [MetricsService, HttpMetricsMiddleware] })
export class MetricsModule {}
