import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AuditRepository } from 'src/common/audit/audit.repository';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { ErrorLogRepository } from 'src/monitoring/error-log.repository';

/** How often the retention cleanup runs (and once, shortly after start). */
export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const FIRST_RUN_DELAY_MS = 60 * 1000;

/**
 * Deletes audit and error log rows older than `config.auditRetentionDays`, periodically. The timers are
 * unref'd (they never keep the process alive); every instance runs it, which is harmless (idempotent deletes).
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RetentionService.name);
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly audit: AuditRepository,
    private readonly errors: ErrorLogRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const run = () => void this.purge().catch((err: unknown) => this.logger.error({ err }, 'retention cleanup failed'));
    this.timers = [setTimeout(run, FIRST_RUN_DELAY_MS), setInterval(run, RETENTION_INTERVAL_MS)];
    for (const t of this.timers) t.unref();
  }

  async onModuleDestroy(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await this.running?.catch(() => undefined);
  }

  /** Deletes what is past retention now; returns how many rows of each table went. */
  async purge(now = new Date()): Promise<{ auditLogs: number; errorLogs: number }> {
    const cutoff = new Date(now.getTime() - this.config.auditRetentionDays * 24 * 3600 * 1000);
    const work = (async () => ({
      auditLogs: await this.audit.deleteOlderThan(cutoff),
      errorLogs: await this.errors.deleteOlderThan(cutoff),
    }))();
    this.running = work;
    const result = await work;
    if (result.auditLogs || result.errorLogs) {
      this.logger.log(
        `retention: deleted ${result.auditLogs} audit and ${result.errorLogs} error log rows before ${cutoff.toISOString()}`,
      );
    }
    return result;
  }
}
