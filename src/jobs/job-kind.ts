/**
 * Why the runner stopped a job: a user's cancel (from any instance), the process shutting down, the job's
 * time limit, or its lease taken over by another instance (it had expired and a sweep ended the job there).
 * A job may stop itself for a reason of its own (`JobContext.stop`).
 */
export type StopReason = 'cancelled' | 'shutdown' | 'timeout' | 'lease_lost' | (string & {});

/** What a dead job's row is finished as: by a sweep (its process died), or by a user's cancel. */
export type InterruptOutcome = 'interrupted' | 'cancelled';

/** What the runner gives a running job. */
export interface JobContext {
  /** Aborted when the job is stopped; every upstream call of the job honours it. */
  readonly signal: AbortSignal;
  /** Why the job was stopped; null while it runs (and when it failed by itself). */
  readonly stopReason: StopReason | null;
  /** Stops the job (first reason wins). */
  stop(reason: StopReason): void;
  /** A write of the job's own extended its lease (a progress batch): the runner's next renewal can wait. */
  leaseExtended(): void;
  /** The job writes its final state now: its lease is no longer renewed. */
  stopRenewing(): void;
}

/** One job, as a feature hands it to the runner. */
export interface JobSpec {
  /** Unique among running jobs: the job's stream key, which is also where a cancel is published. */
  key: string;
  /** Renews the job's lease; false when the job no longer holds it (the runner stops it: `lease_lost`). */
  renewLease(): Promise<boolean>;
  /** Runs the job to its end, final write included. The runner logs what it throws. */
  run(ctx: JobContext): Promise<void>;
  /** Stops the job with `timeout` after this long. */
  timeLimitMs?: number;
}

/**
 * What a feature defines once for its kind of job: where dead jobs are found and how one is finished.
 * Registered with `JobRunner.register`, which sweeps it at startup and every lease period.
 */
export interface JobKind<Row> {
  /** The kind's name in metrics (`sse_streams{kind}`, `stream_cancels{kind}`) and logs. */
  readonly name: string;
  /** How long a lease lasts; renewed every third of it, swept every period. */
  readonly leaseMs: number;
  /** At boot, take every job as dead whatever its lease says (one instance by design: nobody else runs any). */
  readonly bootSweepIgnoresLease: boolean;
  /** Rows of jobs whose lease expired (all running ones with `ignoreLease`), up to `limit`. */
  findStale(limit: number, ignoreLease: boolean): Promise<Row[]>;
  /** The key of the job a row belongs to (`JobSpec.key`). */
  keyOf(row: Row): string;
  /**
   * Finishes a job no process holds (lease expired, or `ignoreLease`) with its terminal event; false when it
   * was not running with an expired lease (nothing changed). Safe to call from several instances at once.
   */
  interrupt(row: Row, outcome: InterruptOutcome, ignoreLease: boolean): Promise<boolean>;
}
