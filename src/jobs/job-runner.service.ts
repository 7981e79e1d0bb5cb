import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DrainService } from 'src/common/drain/drain.service';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { InterruptOutcome, JobKind, JobSpec } from 'src/jobs/job-kind';
import { RunningJob } from 'src/jobs/running-job';
import { StreamLog } from 'src/streaming/stream-log';

/** Rows a sweep looks at, at most, per kind. */
const SWEEP_BATCH = 100;
/** How long a shutdown waits for the stopped jobs' final writes before the rest of the shutdown goes on. */
const SHUTDOWN_WAIT_MS = 5000;

interface RegisteredKind {
  kind: JobKind<unknown>;
  timer: NodeJS.Timeout | null;
  sweeping: Promise<number> | null;
}

/**
 * Runs the background jobs of every feature (chat replies, research runs) in this process, apart from any
 * HTTP request. It owns what every job needs the same way:
 * - the instance id that leases name (`instanceId`), the renewal of each job's lease, its time limit;
 * - cancel from any instance: a job running here is stopped at once, a dead one (expired lease) is finished
 *   by its kind, any other hears the cancel through the stream log's control channel (in-process or Redis);
 * - drain: a shutdown stops every job (`shutdown`) and the drain waits for their final writes;
 * - the `sse_streams` and `stream_cancels` metrics;
 * - crash finishing: every registered kind is swept at startup and every lease period, and each job whose
 *   lease expired is finished by its kind (`JobKind.interrupt`).
 * A feature supplies only its own part: the job (`JobSpec.run`, `renewLease`) and its kind (JobKind).
 */
@Injectable()
export class JobRunner implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobRunner.name);
  /** Identifies this process in leases. */
  readonly instanceId = `jobs-${randomUUID()}`;
  private readonly jobs = new Map<string, RunningJob>();
  private readonly kinds = new Map<string, RegisteredKind>();
  private unsubscribeControl: (() => void) | null = null;
  private bootstrapped = false;

  constructor(
    private readonly log: StreamLog,
    private readonly metrics: MetricsService,
    private readonly drain: DrainService,
  ) {}

  onModuleInit(): void {
    this.unsubscribeControl = this.log.onControl((key, message) => {
      if (message.type === 'cancel') this.jobs.get(key)?.stop('cancelled');
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.bootstrapped = true;
    await Promise.all([...this.kinds.values()].map((k) => this.schedule(k)));
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribeControl?.();
    for (const k of this.kinds.values()) if (k.timer) clearInterval(k.timer);
    const running = [...this.jobs.values()];
    for (const job of running) job.stop('shutdown');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(running.map((j) => j.done)),
      new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }

  /** Adds a kind of job: swept at startup (or now, after it) and every lease period. Call it in onModuleInit. */
  register<Row>(kind: JobKind<Row>): void {
    if (this.kinds.has(kind.name)) throw new Error(`job kind ${kind.name} is registered twice`);
    const registered: RegisteredKind = { kind: kind, timer: null, sweeping: null };
    this.kinds.set(kind.name, registered);
    if (this.bootstrapped) void this.schedule(registered);
  }

  /**
   * Starts a job now, in this process. Returns when it ended (its final write included); callers do not
   * wait for that, the drain does.
   */
  start<Row>(kind: JobKind<Row>, spec: JobSpec): Promise<void> {
    if (this.jobs.has(spec.key)) throw new Error(`job ${spec.key} is already running`);
    const job = new RunningJob(kind.name, spec, kind.leaseMs);
    this.jobs.set(spec.key, job);
    this.metrics.sseStreamStarted(kind.name);
    // Run now: the job's first steps (its upstream call, its first event) happen before start returns.
    job.done = (async () => spec.run(job))()
      .catch((err: unknown) =>
        this.logger.error(`${kind.name} job ${spec.key} failed: ${(err as Error)?.message ?? String(err)}`),
      )
      .finally(() => {
        job.ended();
        this.jobs.delete(spec.key);
        this.metrics.sseStreamEnded(kind.name);
      });
    // A drain waits for the job's final write (a job stopped by the shutdown still records its outcome).
    return this.drain.track(job.done);
  }

  /**
   * Stops a job wherever it runs: here at once; a dead one (expired lease, it cannot hear anything) is
   * finished as `cancelled` by its kind; any other through the control channel, on the instance running it.
   */
  async cancel<Row>(kind: JobKind<Row>, row: Row): Promise<void> {
    this.metrics.streamCancelled(kind.name);
    const key = kind.keyOf(row);
    const local = this.jobs.get(key);
    if (local) return local.stop('cancelled');
    if (await kind.interrupt(row, 'cancelled', false)) return;
    await this.log.publishControl(key, { type: 'cancel' });
  }

  /** The job is running in this process (its lease is renewed here). */
  isRunningHere(key: string): boolean {
    return this.jobs.has(key);
  }

  runningCount(): number {
    return this.jobs.size;
  }

  /**
   * Finishes every dead job of the kind (up to a batch) as interrupted; returns how many it finished. One
   * sweep per kind at a time in a process; several instances may sweep together (`interrupt` is conditional).
   */
  sweep(kindName: string, options: { ignoreLease?: boolean } = {}): Promise<number> {
    const registered = this.kinds.get(kindName);
    if (!registered) throw new Error(`no job kind ${kindName}`);
    registered.sweeping ??= this.sweepOnce(registered.kind, options.ignoreLease ?? false).finally(
      () => (registered.sweeping = null),
    );
    return registered.sweeping;
  }

  private async schedule(registered: RegisteredKind): Promise<void> {
    const { kind } = registered;
    registered.timer = setInterval(
      () =>
        void this.sweep(kind.name).catch((err: Error) => this.logger.warn(`${kind.name} sweep failed: ${err.message}`)),
      kind.leaseMs,
    );
    registered.timer.unref();
    await this.sweep(kind.name, { ignoreLease: kind.bootSweepIgnoresLease }).catch((err: Error) =>
      this.logger.warn(`${kind.name} startup sweep failed: ${err.message}`),
    );
  }

  private async sweepOnce(kind: JobKind<unknown>, ignoreLease: boolean): Promise<number> {
    let finished = 0;
    for (const row of await kind.findStale(SWEEP_BATCH, ignoreLease)) {
      if (this.jobs.has(kind.keyOf(row))) continue;
      if (await this.interrupt(kind, row, 'interrupted', ignoreLease)) finished++;
    }
    if (finished) this.logger.warn(`finished ${finished} interrupted ${kind.name} job(s)`);
    return finished;
  }

  private async interrupt(
    kind: JobKind<unknown>,
    row: unknown,
    outcome: InterruptOutcome,
    ignoreLease: boolean,
  ): Promise<boolean> {
    try {
      return await kind.interrupt(row, outcome, ignoreLease);
    } catch (err) {
      this.logger.warn(`${kind.name} job ${kind.keyOf(row)}: not finished: ${(err as Error).message}`);
      return false;
    }
  }
}
