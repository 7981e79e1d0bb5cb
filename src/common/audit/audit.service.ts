import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AuditRepository, NewAuditLog } from 'src/common/audit/audit.repository';
import { currentCorrelationId } from 'src/common/logging/request-context';

/**
 * Records audit facts. Writes never fail the request that caused them: a failed insert is logged.
 * Security events (`auth.*`) are recorded by the features that detect them.
 */
@Injectable()
export class AuditService implements OnModuleDestroy {
  private readonly logger = new Logger(AuditService.name);
  private readonly pending = new Set<Promise<void>>();

  record(entry: NewAuditLog): Promise<void> {
    const p = this.repo
      .create({ correlationId: currentCorrelationId() ?? null, ...entry })
      .catch((err: unknown) => this.logger.error({ err, action: entry.action }, 'audit write failed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
    return p;
  }

  /** Waits for writes in flight (tests and graceful shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  constructor(private readonly repo: AuditRepository) {}

  /** Writes in flight finish before the database closes. */
  async onModuleDestroy(): Promise<void> {
    await this.flush();
  }
}
