import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { ResearchEventRepository } from 'src/research/streams/research-event.repository';

/** How often the cleanup runs (and once, shortly after start). */
export const RESEARCH_RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const FIRST_RUN_DELAY_MS = 60 * 1000;
/** Rows per DELETE, so one cleanup never holds many locks for long. */
const BATCH = 5000;

/**
 * Deletes the stored run events (`research_events`) of sessions that finished more than
 * `RESEARCH_EVENTS_RETENTION_DAYS` ago, periodically; events of a running session are never deleted. The
 * session row keeps the final report, the error and the id of the terminal event, so a resume afterwards
 * still ends the way the run did (ResearchStreamsService). Timers are unref'd; every instance runs it,
 * which is harmless (idempotent deletes). As monitoring's RetentionService does for the logs.
 */
@Injectable()
export class ResearchRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ResearchRetentionService.name);
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly events: ResearchEventRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const run = () =>
      void this.purge().catch((err: unknown) =>
        this.logger.error(`research event retention failed: ${(err as Error).message}`),
      );
    this.timers = [setTimeout(run, FIRST_RUN_DELAY_MS), setInterval(run, RESEARCH_RETENTION_INTERVAL_MS)];
    for (const t of this.timers) t.unref();
  }

  async onModuleDestroy(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await this.running?.catch(() => undefined);
  }

  /** Deletes what is past retention now; returns how many events went. */
  async purge(now = new Date()): Promise<{ events: number }> {
    const cutoff = new Date(now.getTime() - this.config.research.eventsRetentionDays * 24 * 3600 * 1000);
    const work = (async () => {
      let events = 0;
      for (;;) {
        const n = await this.events.deleteOfSessionsFinishedBefore(cutoff, BATCH);
        events += n;
        if (n < BATCH) return { events };
      }
    })();
    this.running = work;
    const result = await work;
    if (result.events)
      this.logger.log(
        `retention: deleted ${result.events} research events of sessions finished before ${cutoff.toISOString()}`,
      );
    return result;
  }
}
