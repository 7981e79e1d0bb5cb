import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AuditRepository, NewAuditLog } from 'src/common/audit/audit.repository';
import { currentCorrelationId } from 'src/common/logging/request-context';

/** At most this many entries per INSERT. */
const MAX_BATCH = 500;

interface Pending {
  entry: NewAuditLog & { createdAt: Date };
  resolve: () => void;
}

/**
 * Records audit facts. Writes never fail the request that caused them: a failed insert is logged.
 * Security events (`auth.*`) are recorded by the features that detect them.
 *
 * Batched (issue 18): entries recorded while an insert is in flight, or in the same event-loop turn, are
 * written together by the next one, in one multi-row INSERT (one round trip, one transaction). An idle
 * service writes an entry at once; a busy one writes one batch per round trip instead of one per request.
 * `record` resolves once its entry is stored (or its failure logged), so `await audit.record(...)` still
 * means "written". A batch that fails is retried entry by entry, so one bad entry does not lose the others.
 * Graceful shutdown waits for every buffered and in-flight entry (onModuleDestroy → flush).
 */
@Injectable()
export class AuditService implements OnModuleDestroy {
  private readonly logger = new Logger(AuditService.name);
  private queue: Pending[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly repo: AuditRepository) {}

  record(entry: NewAuditLog): Promise<void> {
    return new Promise<void>((resolve) => {
      // The time of the fact, not of the batch's insert: entries of one batch keep their order.
      this.queue.push({
        entry: { correlationId: currentCorrelationId() ?? null, ...entry, createdAt: new Date() },
        resolve,
      });
      this.running ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  /** Waits until every entry recorded so far is written (tests and graceful shutdown). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Writes in flight and buffered finish before the database closes. */
  async onModuleDestroy(): Promise<void> {
    await this.flush();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, MAX_BATCH);
        await this.write(batch);
      }
    } finally {
      this.running = null;
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      await this.repo.createMany(batch.map((p) => p.entry));
    } catch (err) {
      if (batch.length === 1) this.logger.error({ err, action: batch[0].entry.action }, 'audit write failed');
      else {
        // One entry may be at fault (a value the column refuses): store the others one by one.
        for (const p of batch) {
          await this.repo
            .createMany([p.entry])
            .catch((e: unknown) => this.logger.error({ err: e, action: p.entry.action }, 'audit write failed'));
        }
      }
    }
    for (const p of batch) p.resolve();
  }
}
