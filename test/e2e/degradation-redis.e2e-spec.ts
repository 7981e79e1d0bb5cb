import type Redis from 'ioredis';
import { REDIS_CLIENT } from 'src/common/redis/redis.module';
import { registerTeam, Session, strongPassword } from 'test/factories/auth.factory';
import { hasRedisServer, PrivateRedis } from 'test/utils/private-redis';
import { createTestApp, TestApp } from 'test/utils/test-app';

const describeIfRedis = hasRedisServer() ? describe : describe.skip;
// eslint-disable-next-line no-console -- says why the suite is skipped
if (!hasRedisServer()) console.warn('degradation-redis: skipped, redis-server is not installed');

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await cond()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Runs a request and returns it with how long it took. */
async function timed<T>(fn: () => PromiseLike<T>): Promise<{ res: T; ms: number }> {
  const start = Date.now();
  const res = await fn();
  return { res, ms: Date.now() - start };
}

const metricValue = (text: string, name: string, labels: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`chat_backend_${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
};

describeIfRedis('Degradation without Redis (a private redis-server, killed and restarted)', () => {
  let redis: PrivateRedis;
  let redisUp = false;
  let t: TestApp;
  let admin: Session;
  let client: Redis;
  /** A login with Redis up, on this (shared, busy) machine: password hashing dominates it. */
  let baselineLoginMs: number;

  beforeAll(async () => {
    redis = new PrivateRedis();
    await redis.start();
    redisUp = true;
    t = await createTestApp({ env: { REDIS_URL: redis.url, AUTH_LOCKOUT_STEPS: '3:60' } });
    client = t.app.get<Redis>(REDIS_CLIENT);
    admin = await registerTeam(t);
    baselineLoginMs = (
      await timed(() =>
        t.http().post('/api/auth/login').send({ email: admin.email, password: admin.password, team: admin.teamSlug }),
      )
    ).ms;
    await redis.stop();
    redisUp = false;
    await waitFor('the app to notice Redis is gone', () => client.status !== 'ready', 5000);
  }, 180_000);
  afterAll(async () => {
    if (redis && !redisUp) await redis.start().catch(() => undefined); // the app closes its connections cleanly
    await t?.close();
    await redis?.stop();
  });

  it('/health/live answers 200 at once: it touches no dependency', async () => {
    const { res, ms } = await timed(() => t.http().get('/health/live'));
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(1000);
  });

  it('readiness answers 503 naming Redis, with Retry-After, within 1 s', async () => {
    const { res, ms } = await timed(() => t.http().get('/health/ready'));
    expect(ms).toBeLessThan(1000);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('SERVICE_UNAVAILABLE');
    expect(res.body.details.unavailable).toEqual(['redis']);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('login works: rate limits and lock-out counters fall back to this instance’s memory', async () => {
    const { res, ms } = await timed(() =>
      t.http().post('/api/auth/login').send({ email: admin.email, password: admin.password, team: admin.teamSlug }),
    );
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(baselineLoginMs + 1000); // no wait on Redis (it used to be 2–4 s, then a 500)
  });

  it('lock-outs still apply while Redis is down (in memory)', async () => {
    const email = admin.email;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await t
        .http()
        .post('/api/auth/login')
        .send({ email, password: strongPassword(), team: admin.teamSlug });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 2)).toEqual([401, 401]);
    expect(statuses[2]).toBe(429); // the third failure earns the lock (AUTH_LOCKOUT_STEPS=3:60)
    const locked = await t
      .http()
      .post('/api/auth/login')
      .send({ email, password: admin.password, team: admin.teamSlug });
    expect(locked.status).toBe(429);
    expect(locked.body.error).toBe('RATE_LIMITED');
  });

  it('says so in the metrics', async () => {
    const text = (await t.http().get('/metrics')).text;
    expect(metricValue(text, 'redis_fallback_active', 'store="auth"')).toBe(1);
    expect(metricValue(text, 'redis_fallback_active', 'store="throttle"')).toBe(1);
    expect(metricValue(text, 'redis_fallback_operations_total', 'store="auth"')).toBeGreaterThan(0);
  });

  it('authenticated reads keep working (the access-token denylist falls back to the database)', async () => {
    const { res, ms } = await timed(() => t.http().get('/api/chats').set(admin.bearer));
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(2500); // no wait on Redis; a loaded machine's database round trips only
  });

  it('a request that needs Redis gets 503 SERVICE_UNAVAILABLE with Retry-After within 1 s, never 500', async () => {
    const agent = await t.http().post('/api/agents').set(admin.bearer).send({ name: 'r', provider: 'mock' });
    expect(agent.status).toBe(201);
    const chat = await t.http().post('/api/chats').set(admin.bearer).send({ agentId: agent.body.id });
    expect(chat.status).toBe(201);
    const { res, ms } = await timed(() =>
      t
        .http()
        .post(`/api/chats/${chat.body.id}/messages`)
        .set(admin.bearer)
        .set('Accept', 'application/json')
        .send({ content: 'hi' }),
    );
    expect(ms).toBeLessThan(1000);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('SERVICE_UNAVAILABLE');
    expect(res.body.details.dependency).toBe('redis');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('recovers by itself: readiness 200 within 2 s of Redis returning, and the counters go back to Redis', async () => {
    await redis.start();
    redisUp = true;
    const ms = await waitFor('readiness 200', async () => (await t.http().get('/health/ready')).status === 200, 2000);
    expect(ms).toBeLessThan(2000);
    await t
      .http()
      .post('/api/auth/login')
      .send({ email: `nobody-${Date.now()}@example.test`, password: 'x', team: admin.teamSlug });
    await t.http().get('/api/chats').set(admin.bearer).expect(200);
    const text = (await t.http().get('/metrics')).text;
    expect(metricValue(text, 'redis_fallback_active', 'store="auth"')).toBe(0);
    expect(metricValue(text, 'redis_fallback_active', 'store="throttle"')).toBe(0);
  });
});
