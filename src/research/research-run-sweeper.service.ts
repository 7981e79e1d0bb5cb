import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { ResearchRunRecoveryService } from 'src/research/research-run-recovery.service';
import { ResearchRunsService } from 'src/research/research-runs.service';
import { ResearchSessionRepository } from 'src/research/research-session.repository';

const BATCH = 100;

/**
 * Crash recovery for research runs. A `running` session whose lease expired belongs to a run that died with
 * its process: it is finished as `failed`/INTERRUPTED (ResearchRunRecoveryService). Runs at startup and
 * every lease period on every instance; the conditional update makes that safe. Without Redis (one
 * instance by design) the startup sweep takes every running session, whatever its lease says.
 */
@Injectable()
export class ResearchRunSweeperService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ResearchRunSweeperService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: ResearchSessionRepository,
    private readonly runs: ResearchRunsService,
    private readonly recovery: ResearchRunRecoveryService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.timer = setInterval(() => void this.sweep().catch((err: Error) => this.logger.warn(`sweep failed: ${err.message}`)), this.config.research.leaseMs);
    this.timer.unref();
    await this.sweep({ ignoreLease: !this.config.redisUrl }).catch((err: Error) => this.logger.warn(`startup sweep failed: ${err.message}`));
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Finishes every stale run (up to a batch); returns how many it finished. One sweep at a time per process. */
  sweep(options: { ignoreLease?: boolean } = {}): Promise<number> {
    this.running ??= this.sweepOnce(options.ignoreLease ?? false).finally(() => (this.running = null));
    return this.running;
  }

  private async sweepOnce(ignoreLease: boolean): Promise<number> {
    let finished = 0;
    for (const run of await this.sessions.findStaleRuns(BATCH, ignoreLease)) {
      if (this.runs.isRunningHere(run.id, run.runNo)) continue;
      try {
        if (await this.recovery.interrupt(run, 'interrupted', ignoreLease)) finished++;
      } catch (err) {
        this.logger.warn(`research ${run.id}#${run.runNo}: not finished: ${(err as Error).message}`);
      }
    }
    if (finished) this.logger.warn(`finished ${finished} interrupted research run(s)`);
    return finished;
  }
}
