import { Logger } from '@nestjs/common';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { JobContext, JobSpec, StopReason } from 'src/jobs/job-kind';

/** The abort reason of a stopped job: what its upstream calls throw. */
export class JobStoppedError extends AppError {
  constructor(
    kind: string,
    readonly reason: StopReason,
  ) {
    super(ErrorCode.SERVICE_UNAVAILABLE, `${kind} ${reason}`);
  }
}

/**
 * One job in this process: its AbortController, its lease renewal (every third of the lease, skipped while
 * the job's own writes keep extending it; a renewal that finds the lease taken stops the job with
 * `lease_lost`) and its time limit.
 */
export class RunningJob implements JobContext {
  private readonly logger = new Logger(RunningJob.name);
  private readonly controller = new AbortController();
  private reason: StopReason | null = null;
  private lastExtended = Date.now();
  private renewal: Promise<void> | null = null;
  private readonly renewTimer: NodeJS.Timeout;
  private readonly limitTimer: NodeJS.Timeout | null = null;
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly kind: string,
    readonly spec: JobSpec,
    private readonly leaseMs: number,
  ) {
    // Ticks twice per renewal period, so a renewal skipped after a job's own write still comes in time.
    this.renewTimer = setInterval(() => this.tick(), Math.max(10, Math.floor(leaseMs / 6)));
    this.renewTimer.unref();
    if (spec.timeLimitMs) {
      this.limitTimer = setTimeout(() => this.stop('timeout'), spec.timeLimitMs);
      this.limitTimer.unref();
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopReason(): StopReason | null {
    return this.reason;
  }

  stop(reason: StopReason): void {
    if (this.controller.signal.aborted) return;
    this.reason = reason;
    this.controller.abort(new JobStoppedError(this.kind, reason));
  }

  leaseExtended(): void {
    this.lastExtended = Date.now();
  }

  stopRenewing(): void {
    clearInterval(this.renewTimer);
  }

  /** The job ended: no timer of it is left. */
  ended(): void {
    this.stopRenewing();
    if (this.limitTimer) clearTimeout(this.limitTimer);
  }

  /** Waits for a renewal in flight (tests, and the end of a job, see the lease settle). */
  async settled(): Promise<void> {
    while (this.renewal) await this.renewal;
  }

  private tick(): void {
    if (this.renewal || Date.now() - this.lastExtended < this.leaseMs / 3) return;
    this.lastExtended = Date.now();
    this.renewal = this.spec
      .renewLease()
      .then((held) => {
        if (held || this.signal.aborted) return;
        this.logger.warn(`${this.kind} job ${this.spec.key} lost its lease; stopping it`);
        this.stop('lease_lost');
      })
      .catch((err: unknown) =>
        this.logger.warn(`${this.kind} job ${this.spec.key}: lease not renewed: ${(err as Error).message}`),
      )
      .finally(() => (this.renewal = null));
  }
}
