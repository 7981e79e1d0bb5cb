import { JobSpec } from 'src/jobs/job-kind';
import { JobStoppedError, RunningJob } from 'src/jobs/running-job';

describe('RunningJob', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const spec = (renewLease: () => Promise<boolean>, timeLimitMs?: number): JobSpec => ({
    key: 'probe:1',
    renewLease,
    run: async () => undefined,
    timeLimitMs,
  });

  it("renews the lease every third of it, and not while the job's own writes keep extending it", async () => {
    const renew = jest.fn(async () => true);
    const job = new RunningJob('probe', spec(renew), 3000);
    await jest.advanceTimersByTimeAsync(1000);
    expect(renew).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 6; i++) {
      job.leaseExtended();
      await jest.advanceTimersByTimeAsync(500);
    }
    expect(renew).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1000);
    expect(renew).toHaveBeenCalledTimes(2);
    job.stopRenewing();
    await jest.advanceTimersByTimeAsync(5000);
    expect(renew).toHaveBeenCalledTimes(2);
    job.ended();
  });

  it('stops the job with lease_lost when a renewal finds the lease taken', async () => {
    const job = new RunningJob(
      'probe',
      spec(async () => false),
      300,
    );
    await jest.advanceTimersByTimeAsync(100);
    expect(job.stopReason).toBe('lease_lost');
    expect(job.signal.reason).toBeInstanceOf(JobStoppedError);
    job.ended();
  });

  it('keeps the job running when a renewal fails (the database may be back at the next one)', async () => {
    const job = new RunningJob(
      'probe',
      spec(async () => Promise.reject(new Error('connection lost'))),
      300,
    );
    await jest.advanceTimersByTimeAsync(400);
    expect(job.signal.aborted).toBe(false);
    job.ended();
  });

  it('stops the job at its time limit, and the first reason wins', async () => {
    const job = new RunningJob(
      'probe',
      spec(async () => true, 1000),
      30_000,
    );
    await jest.advanceTimersByTimeAsync(999);
    expect(job.signal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(job.stopReason).toBe('timeout');
    job.stop('cancelled');
    expect(job.stopReason).toBe('timeout');
    expect((job.signal.reason as JobStoppedError).reason).toBe('timeout');
    job.ended();
  });
});
