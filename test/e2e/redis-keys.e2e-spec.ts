import { randomUUID } from 'node:crypto';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { readSse } from 'test/e2e/chats-sse';
import { readSse as readResearch } from 'test/e2e/research-support';
import { hasRedisServer, PrivateRedis } from 'test/utils/private-redis';
import { createTestApp, TestApp } from 'test/utils/test-app';

/**
 * Defect 7: every Redis key and pub/sub channel of the service is under REDIS_KEY_PREFIX, so deployments
 * sharing a Redis never collide. Runs on a redis-server of its own, so KEYS and PUBSUB see only this app.
 * Before the fix the stream log wrote `stream-log:{chat:<id>}:…` whatever the prefix.
 */
const describeIf = hasRedisServer() ? describe : describe.skip;
if (!hasRedisServer()) {
  describe('Redis keys under REDIS_KEY_PREFIX', () => {
    it.skip('needs a redis-server binary (installed in CI)', () => undefined);
  });
}

describeIf('Redis keys under REDIS_KEY_PREFIX', () => {
  const redis = new PrivateRedis();
  const prefix = `deploy-${randomUUID().slice(0, 8)}:`;
  let t: TestApp;
  let admin: Session;
  let user: Session;

  beforeAll(async () => {
    await redis.start();
    t = await createTestApp({
      env: {
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: prefix,
        MOCK_LLM_DELAY_MS: '2',
        MOCK_LLM_DELTAS: '6',
        RESEARCH_MAX_PARALLEL: '2',
      },
    });
    ({ admin, user } = await teamMatrix(t));
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await redis.stop();
  });

  it('after login, send, stream, cancel, research and logout, every key and channel starts with the prefix', async () => {
    // Login: a failed attempt too (lock-out counters), then a good one.
    await t.http().post('/api/auth/login').send({ email: user.email, password: 'wrong-password-1' }).expect(401);
    const login = await t
      .http()
      .post('/api/auth/login')
      .send({ email: user.email, password: user.password })
      .expect(200);
    expect(login.body.accessToken ?? login.headers['set-cookie']).toBeTruthy();

    const fast = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Fast', provider: 'mock', model: 'mock-1', config: { mockDeltas: 10, mockDelayMs: 1 } })
      .expect(201);
    const slow = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Slow', provider: 'mock', model: 'mock-1', config: { mockDeltas: 400, mockDelayMs: 20 } })
      .expect(201);
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId: fast.body.id }).expect(201);
    const sent = await readSse(`${t.url}/api/chats/${chat.body.id}/messages`, {
      method: 'POST',
      headers: user.bearer,
      body: { content: 'hello' },
    });
    expect(sent.events[sent.events.length - 1].event).toBe('done');
    const messageId = (sent.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
    await readSse(`${t.url}/api/chats/${chat.body.id}/messages/${messageId}/stream`, {
      headers: { ...user.bearer, 'Last-Event-ID': String(sent.events[1].id) },
    });

    // A long reply followed live, while we look at the channels; then cancelled.
    const slowChat = await t.http().post('/api/chats').set(user.bearer).send({ agentId: slow.body.id }).expect(201);
    const accepted = await t
      .http()
      .post(`/api/chats/${slowChat.body.id}/messages`)
      .set(user.bearer)
      .set('Accept', 'application/json')
      .send({ content: 'a long one' })
      .expect(202);
    const follower = readSse(`${t.url}${accepted.body.streamUrl}`, { headers: user.bearer, timeoutMs: 30000 });
    let channels: string[] = [];
    for (let i = 0; i < 100 && channels.length < 1; i++) {
      channels = await redis.command<string[]>('PUBSUB', 'CHANNELS', '*');
      await new Promise((r) => setTimeout(r, 50));
    }
    // The control channel. The reply's own live channel is not subscribed: its job runs in this process, which
    // serves its followers without Redis (LocalStreams); followers on other instances subscribe to it.
    expect(channels.length).toBeGreaterThanOrEqual(1);
    await t
      .http()
      .post(`/api/chats/${slowChat.body.id}/messages/${accepted.body.assistantMessage.id}/cancel`)
      .set(user.bearer)
      .expect((r) => expect(r.status).toBeLessThan(300));
    const cancelled = await follower;
    expect(cancelled.events[cancelled.events.length - 1].data.data).toMatchObject({ status: 'cancelled' });

    // Research: a full run, streamed.
    const sessionId = randomUUID();
    await t
      .http()
      .post('/api/research/sessions')
      .set(admin.bearer)
      .send({ id: sessionId, query: 'What limits battery storage?' })
      .expect((r) => expect(r.status).toBeLessThan(300));
    // The research run is followed through its live channel: every channel seen meanwhile is recorded.
    const seen = new Set(channels);
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const c of await redis.command<string[]>('PUBSUB', 'CHANNELS', '*')) seen.add(c);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const run = await readResearch(`${t.url}/api/research/sessions/${sessionId}/events`, {
      headers: admin.bearer,
      timeoutMs: 60000,
    });
    sampling = false;
    await sampler;
    channels = [...seen];
    expect(channels.some((c) => c.endsWith(':live'))).toBe(true);
    expect(run.events[run.events.length - 1].event).toBe('research_complete');

    await t
      .http()
      .post('/api/auth/logout')
      .set(user.bearer)
      .expect((r) => expect(r.status).toBeLessThan(300));

    const keys = await redis.command<string[]>('KEYS', '*');
    expect(keys.length).toBeGreaterThan(5);
    expect(keys.filter((k) => !k.startsWith(prefix))).toEqual([]);
    // Stream log, limiter, throttler, stamps and auth counters all wrote something.
    expect(keys.some((k) => k.startsWith(`${prefix}stream-log:`))).toBe(true);
    expect(channels.filter((c) => !c.startsWith(prefix))).toEqual([]);
  });
});
