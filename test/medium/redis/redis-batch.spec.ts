import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { dependencyFailure } from 'src/common/errors/dependency-failure';
import { RedisBatch } from 'src/common/redis/redis-batch';
import { createRedis } from 'src/common/redis/redis.module';

/** RedisBatch against a real Redis (TEST_REDIS_URL; skipped without it), under a key prefix of its own. */
const REDIS_URL = process.env.TEST_REDIS_URL ?? '';
if (!REDIS_URL) process.stderr.write('[redis-batch] SKIPPED: needs TEST_REDIS_URL\n');
const describeRedis = REDIS_URL ? describe : describe.skip;

describeRedis('RedisBatch (medium: real Redis)', () => {
  let redis: Redis;
  const prefix = `test-batch-${randomUUID()}:`;

  beforeAll(async () => {
    redis = createRedis(REDIS_URL, 'test-batch');
    await redis.set(`${prefix}a`, '1');
    await redis.set(`${prefix}list`, 'not a list');
  });
  afterAll(async () => {
    await redis.del(`${prefix}a`, `${prefix}list`);
    await redis.quit();
  });

  it('sends the commands of one turn, also those queued a few awaits later, as one pipeline', async () => {
    const pipelines = jest.spyOn(redis, 'pipeline');
    const batch = RedisBatch.of(redis);
    expect(RedisBatch.of(redis)).toBe(batch);
    const a = batch.run<string | null>((p, done) => p.get(`${prefix}a`, done));
    const later = (async () => {
      // As between the throttler's guard and its counter: a chain of awaits of settled promises.
      for (let i = 0; i < 20; i++) await Promise.resolve(i);
      return batch.run<number>((p, done) => p.exists(`${prefix}a`, `${prefix}missing`, done));
    })();
    await expect(Promise.all([a, later])).resolves.toEqual(['1', 1]);
    expect(pipelines).toHaveBeenCalledTimes(1);
    // The next turn has a pipeline of its own.
    await expect(batch.run<string | null>((p, done) => p.get(`${prefix}missing`, done))).resolves.toBeNull();
    expect(pipelines).toHaveBeenCalledTimes(2);
    pipelines.mockRestore();
  });

  it('settles each command on its own: an error fails that command only', async () => {
    const batch = RedisBatch.of(redis);
    const bad = batch.run<number>((p, done) => p.llen(`${prefix}list`, done));
    const good = batch.run<string | null>((p, done) => p.get(`${prefix}a`, done));
    await expect(bad).rejects.toThrow(/WRONGTYPE/);
    await expect(good).resolves.toBe('1');
  });

  it('fails each command as an unreachable Redis fails a command sent alone (the callers fall back)', async () => {
    // A client whose connection is gone, with no offline queue (as the shared client once it lost Redis).
    const down = createRedis(REDIS_URL, 'test-batch-down');
    await down.ping();
    down.disconnect();
    try {
      const batch = RedisBatch.of(down);
      const results = await Promise.allSettled([
        batch.run<string | null>((p, done) => p.get('x', done)),
        batch.run<number>((p, done) => p.exists('y', done)),
      ]);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect(dependencyFailure((r as PromiseRejectedResult).reason)).toBe('redis');
      }
    } finally {
      down.disconnect();
    }
  });
});
