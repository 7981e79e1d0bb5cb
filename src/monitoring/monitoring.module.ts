import { Module } from '@nestjs/common';
import { AuditLogsController } from 'src/monitoring/audit-logs.controller';
import { AuditLogsService } from 'src/monitoring/audit-logs.service';
import { ErrorLogModule } from 'src/monitoring/error-log.module';
import { IdleMemoryReducer } from 'src/monitoring/idle-memory-reducer';
import { MetricsController } from 'src/monitoring/metrics.controller';
import { MetricsServer } from 'src/monitoring/metrics-listener';
import { MetricsTokenGuard } from 'src/monitoring/metrics-token.guard';
import { MonitoringController } from 'src/monitoring/monitoring.controller';
import { MonitoringService } from 'src/monitoring/monitoring.service';
import { RetentionService } from 'src/monitoring/retention.service';
import { StreamingModule } from 'src/streaming/streaming.module';

/**
 * /metrics, admin monitoring (connections, live stream, error log), the audit trail, log retention and the idle
 * memory reducer.
 */
@Module({
  imports: [ErrorLogModule, StreamingModule],
  controllers: [MetricsController, MonitoringController, AuditLogsController],
  providers: [
    MetricsTokenGuard,
    MetricsServer,
    MonitoringService,
    AuditLogsService,
    RetentionService,
    IdleMemoryReducer,
  ],
})
export class MonitoringModule {}
