import { randomUUID } from 'node:crypto';
import { DrainService } from 'src/common/drain/drain.service';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { InterruptOutcome, JobContext, JobKind, JobSpec, StopReason } from 'src/jobs/job-kind';
import { JobRunner } from 'src/jobs/job-runner.service';
import { StreamLog } from 'src/streaming/stream-log';
import { DataSource } from 'typeorm';
import { createTestApp, TestApp } from 'test/utils/test-app';

const LEASE_MS = 300;

interface ProbeRow {
  id: string;
}

/**
 * A kind of job of the test's own, on a table of the test's own in the real database: its rows are leased
 * like chat replies and research runs (`lease_owner`, `lease_expires_at`), and a dead one is finished as
 * the outcome the runner asks for, only while its lease is expired (or the sweep ignores leases).
 */
class ProbeKind implements JobKind<ProbeRow> {
  readonly name = 'probe';
  readonly leaseMs = LEASE_MS;
  readonly bootSweepIgnoresLease = false;

  constructor(private readonly ds: DataSource) {}

  async findStale(limit: number, ignoreLease: boolean): Promise<ProbeRow[]> {
    return this.ds.query(
      `SELECT id FROM job_probe WHERE status = 'running' AND ($2 OR lease_expires_at < now()) ORDER BY id LIMIT $1`,
      [limit, ignoreLease],
    );
  }

  keyOf(row: ProbeRow): string {
    return `probe:${row.id}`;
  }

  async interrupt(row: ProbeRow, outcome: InterruptOutcome, ignoreLease: boolean): Promise<boolean> {
    const [, count] = await this.ds.query(
      `UPDATE job_probe SET status = $2, lease_owner = NULL WHERE id = $1 AND status = 'running' AND ($3 OR lease_expires_at < now())`,
      [row.id, outcome, ignoreLease],
    );
    return count === 1;
  }
}

describe('JobRunner (medium: real database, the stream log as the control channel)', () => {
  let t: TestApp;
  let ds: DataSource;
  let runner: JobRunner;
  let kind: ProbeKind;

  beforeAll(async () => {
    t = await createTestApp();
    ds = t.app.get(DataSource);
    runner = t.app.get(JobRunner);
    await ds.query(
      `CREATE TABLE job_probe (id text PRIMARY KEY, status text NOT NULL, lease_owner text, lease_expires_at timestamptz, renewals int NOT NULL DEFAULT 0)`,
    );
    kind = new ProbeKind(ds);
    runner.register(kind);
  });
  afterAll(() => t?.close());

  const row = async (id: string) =>
    (await ds.query(`SELECT status, lease_owner, lease_expires_at, renewals FROM job_probe WHERE id = $1`, [id]))[0];
  const insert = (id: string, owner: string, leaseInMs: number) =>
    ds.query(
      `INSERT INTO job_probe (id, status, lease_owner, lease_expires_at) VALUES ($1, 'running', $2, now() + ($3 || ' milliseconds')::interval)`,
      [id, owner, String(leaseInMs)],
    );
  const until = async (check: () => Promise<boolean> | boolean, timeoutMs = 10000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  /**
   * Starts a probe job on `on`: its row leased to that runner; it works for `workMs` (or until stopped),
   * then writes its outcome (`completed`, or why it was stopped) unless it lost its lease.
   */
  const startProbe = async (
    on: JobRunner,
    options: { workMs?: number; finalWriteMs?: number; timeLimitMs?: number } = {},
  ) => {
    const id = randomUUID();
    await insert(id, on.instanceId, LEASE_MS);
    let stopReason: StopReason | null = null;
    const spec: JobSpec = {
      key: kind.keyOf({ id }),
      timeLimitMs: options.timeLimitMs,
      renewLease: async () => {
        const [, count] = await ds.query(
          `UPDATE job_probe SET lease_expires_at = now() + ($3 || ' milliseconds')::interval, renewals = renewals + 1 WHERE id = $1 AND status = 'running' AND lease_owner = $2`,
          [id, on.instanceId, String(LEASE_MS)],
        );
        return count === 1;
      },
      run: async (ctx: JobContext) => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.workMs ?? 60_000);
          ctx.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
        stopReason = ctx.stopReason;
        if (stopReason === 'lease_lost') return;
        // A slow final write (longer than the lease): the lease is renewed until it starts.
        await new Promise((r) => setTimeout(r, options.finalWriteMs ?? 0));
        ctx.stopRenewing();
        await ds.query(`UPDATE job_probe SET status = $2, lease_owner = NULL WHERE id = $1 AND status = 'running'`, [
          id,
          stopReason ?? 'completed',
        ]);
      },
    };
    const done = on.start(kind, spec);
    return { id, key: spec.key, done, stopReason: () => stopReason };
  };

  /** Another instance: its own runner (own instance id, own jobs) on the same database and control channel. */
  const otherInstance = (): JobRunner => {
    const other = new JobRunner(t.app.get(StreamLog), t.app.get(MetricsService), new DrainService(t.config));
    other.onModuleInit();
    return other;
  };

  it('renews the lease of a running job, so sweeps leave it alone, and stops renewing once it ends', async () => {
    const job = await startProbe(runner, { workMs: 4 * LEASE_MS });
    const seenExpiries: number[] = [];
    while (runner.isRunningHere(job.key)) {
      await runner.sweep('probe');
      const r = await row(job.id);
      if (r.status !== 'running') break;
      expect(r.lease_owner).toBe(runner.instanceId);
      seenExpiries.push(new Date(r.lease_expires_at).getTime());
      await new Promise((res) => setTimeout(res, LEASE_MS / 3));
    }
    await job.done;
    const after = await row(job.id);
    expect(after.status).toBe('completed');
    // Ran for four lease periods, renewed about every third of one, never taken for dead.
    expect(after.renewals).toBeGreaterThanOrEqual(6);
    expect(new Set(seenExpiries).size).toBeGreaterThanOrEqual(4);
    const renewals = after.renewals;
    await new Promise((res) => setTimeout(res, LEASE_MS));
    expect((await row(job.id)).renewals).toBe(renewals);
  });

  it('finishes a job whose process died (its lease expired) in a sweep, and leaves a live lease and a job running here alone', async () => {
    const dead = randomUUID();
    const alive = randomUUID();
    await insert(dead, 'jobs-dead-instance', -60_000);
    await insert(alive, 'jobs-other-instance', 60_000);
    // Running here: its lease is live, and even expired it would be this process's to finish.
    const here = await startProbe(runner);
    await ds.query(`UPDATE job_probe SET lease_expires_at = now() - interval '1 minute' WHERE id = $1`, [here.id]);

    expect(await runner.sweep('probe')).toBeGreaterThanOrEqual(1);
    expect((await row(dead)).status).toBe('interrupted');
    expect((await row(alive)).status).toBe('running');
    expect((await row(here.id)).status).toBe('running');
    await runner.cancel(kind, { id: here.id });
    await here.done;
    expect((await row(here.id)).status).toBe('cancelled');
    // Several instances sweeping at once: exactly one finishes each dead job.
    const another = randomUUID();
    await insert(another, 'jobs-dead-instance', -60_000);
    const other = otherInstance();
    other.register(new ProbeKind(ds));
    const counts = await Promise.all([runner.sweep('probe'), other.sweep('probe')]);
    expect(counts[0] + counts[1]).toBe(1);
    expect((await row(another)).status).toBe('interrupted');
    await other.onModuleDestroy();
  });

  it('cancels a job from another instance through the control channel: the job stops where it runs and records it', async () => {
    const job = await startProbe(runner);
    const other = otherInstance();
    expect(other.isRunningHere(job.key)).toBe(false);
    await other.cancel(kind, { id: job.id });
    await job.done;
    expect(job.stopReason()).toBe('cancelled');
    expect((await row(job.id)).status).toBe('cancelled');
    await other.onModuleDestroy();
  });

  it('finishes a dead job at once when it is cancelled (nobody is left to hear the signal)', async () => {
    const dead = randomUUID();
    await insert(dead, 'jobs-dead-instance', -60_000);
    await otherInstance().cancel(kind, { id: dead });
    expect((await row(dead)).status).toBe('cancelled');
  });

  it('stops a job whose lease was taken over (lease_lost), and the job writes nothing more', async () => {
    const job = await startProbe(runner);
    // What another instance does once it saw the lease expired and finished the job there.
    await ds.query(`UPDATE job_probe SET status = 'interrupted', lease_owner = 'jobs-other-instance' WHERE id = $1`, [
      job.id,
    ]);
    await job.done;
    expect(job.stopReason()).toBe('lease_lost');
    expect((await row(job.id)).status).toBe('interrupted');
  });

  it('stops a job at its time limit', async () => {
    const job = await startProbe(runner, { timeLimitMs: 100 });
    await job.done;
    expect(job.stopReason()).toBe('timeout');
    expect((await row(job.id)).status).toBe('timeout');
  });

  it('makes a drain wait for the final write of a job stopped by the shutdown', async () => {
    const drain = new DrainService({ ...t.config, shutdownTimeoutMs: 20_000 });
    const instance = new JobRunner(t.app.get(StreamLog), t.app.get(MetricsService), drain);
    instance.onModuleInit();
    instance.register(new ProbeKind(ds));
    const job = await startProbe(instance, { finalWriteMs: 400 });
    // Nest's order at shutdown: module destroy (the runner stops every job), then the drain.
    const destroyed = instance.onModuleDestroy();
    expect(drain.inFlightCount()).toBe(1);
    await drain.begin();
    expect((await row(job.id)).status).toBe('shutdown');
    expect(drain.inFlightCount()).toBe(0);
    expect(instance.runningCount()).toBe(0);
    await destroyed;
    await until(async () => (await row(job.id)).lease_owner === null);
  });
});
