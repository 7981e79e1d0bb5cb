import { DataSource } from 'typeorm';
import { Session, registerTeam } from 'test/factories/auth.factory';
import { hasRedisServer, PrivateRedis } from 'test/utils/private-redis';
import { createTestApp, TestApp } from 'test/utils/test-app';

const describeIfRedis = hasRedisServer() ? describe : describe.skip;
// eslint-disable-next-line no-console -- says why the suite is skipped
if (!hasRedisServer()) console.warn('degradation-redis-streams: skipped, redis-server is not installed');

/** The concatenated content of the `message` events of an SSE body (data: `{type, data: {content}}`). */
const sseContent = (text: string): string =>
  text
    .split('\n\n')
    .filter((f) => f.includes('event: message'))
    .map((f) => (JSON.parse(f.slice(f.indexOf('data: ') + 6)) as { data: { content: string } }).data.content)
    .join('');

/** Runs a request and returns it with how long it took. */
async function timed<T>(fn: () => PromiseLike<T>): Promise<{ res: T; ms: number }> {
  const start = Date.now();
  const res = await fn();
  return { res, ms: Date.now() - start };
}

/**
 * With Redis gone, stream routes never hang and never answer 500. A send answers 503 SERVICE_UNAVAILABLE with
 * Retry-After within 1 s (the shared client). A stored reply's stream does not need Redis: it is served from
 * the database within 1 s (the stream log fails fast while its connection is not ready; before, the request
 * waited for the 3 s command timeout, and at first ~10 s with ioredis's defaults).
 */
describeIfRedis('Degradation without Redis: stream routes (a private redis-server, killed)', () => {
  let redis: PrivateRedis;
  let redisUp = false;
  let t: TestApp;
  let admin: Session;
  let chatId: string;
  let storedMessageId: string;
  let storedContent: string;

  beforeAll(async () => {
    redis = new PrivateRedis();
    await redis.start();
    redisUp = true;
    t = await createTestApp({ env: { REDIS_URL: redis.url } });
    admin = await registerTeam(t);
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Mock', provider: 'mock', model: 'mock-1' })
      .expect(201);
    chatId = (await t.http().post('/api/chats').set(admin.bearer).send({ agentId: agent.body.id }).expect(201)).body.id;
    // A reply stored while Redis was up.
    const sent = await t
      .http()
      .post(`/api/chats/${chatId}/messages`)
      .set(admin.bearer)
      .set('Accept', 'application/json')
      .send({ content: 'hello' })
      .expect(202);
    storedMessageId = sent.body.assistantMessage.id;
    const stream = await t
      .http()
      .get(`/api/chats/${chatId}/messages/${storedMessageId}/stream`)
      .set(admin.bearer)
      .set('Accept', 'text/event-stream');
    expect(stream.text).toContain('event: done');
    const detail = await t.http().get(`/api/chats/${chatId}`).set(admin.bearer).expect(200);
    storedContent = (detail.body.messages as { id: string; content: string }[]).find(
      (m) => m.id === storedMessageId,
    )!.content;
    expect(storedContent.length).toBeGreaterThan(3);
    await redis.stop();
    redisUp = false;
    await new Promise((r) => setTimeout(r, 500)); // every connection has seen the close
  }, 180_000);
  afterAll(async () => {
    if (redis && !redisUp) await redis.start().catch(() => undefined); // the app closes its connections cleanly
    await t?.close();
    await redis?.stop();
  });

  it('a send answers 503 SERVICE_UNAVAILABLE with Retry-After within 1 s, never a hang or a 500', async () => {
    for (const accept of ['application/json', 'text/event-stream']) {
      const { res, ms } = await timed(() =>
        t
          .http()
          .post(`/api/chats/${chatId}/messages`)
          .set(admin.bearer)
          .set('Accept', accept)
          .send({ content: 'while redis is down' }),
      );
      expect({ accept, status: res.status, error: res.body?.error, retryAfter: res.headers['retry-after'] }).toEqual({
        accept,
        status: 503,
        error: 'SERVICE_UNAVAILABLE',
        retryAfter: expect.any(String),
      });
      expect(ms).toBeLessThan(1000);
    }
  });

  it('the stream of a stored reply is served whole from the database within 1 s (it waited for the command timeout before)', async () => {
    const { res, ms } = await timed(() =>
      t
        .http()
        .get(`/api/chats/${chatId}/messages/${storedMessageId}/stream`)
        .set(admin.bearer)
        .set('Accept', 'text/event-stream'),
    );
    expect(ms).toBeLessThan(1000);
    expect(res.status).toBe(200);
    const content = sseContent(res.text);
    expect(content).toBe(storedContent);
    expect(res.text).toContain('event: done');
  });

  it('a resume with Last-Event-ID gets only the rest, from the database, within 1 s', async () => {
    const { res, ms } = await timed(() =>
      t
        .http()
        .get(`/api/chats/${chatId}/messages/${storedMessageId}/stream`)
        .set(admin.bearer)
        .set('Accept', 'text/event-stream')
        .set('Last-Event-ID', '3-1'),
    );
    expect(ms).toBeLessThan(1000);
    expect(res.status).toBe(200);
    const content = sseContent(res.text);
    expect(content).toBe(storedContent.slice(3));
  });

  it('a cancel answers within 1 s, never a 500', async () => {
    const { res, ms } = await timed(() =>
      t.http().post(`/api/chats/${chatId}/messages/${storedMessageId}/cancel`).set(admin.bearer),
    );
    expect(ms).toBeLessThan(1000);
    expect(res.status === 503 || res.status < 500).toBe(true);
  });

  it('a cancel of a reply that another instance generates answers 503 SERVICE_UNAVAILABLE within 1 s (the control channel is Redis)', async () => {
    const ds = t.app.get(DataSource);
    // The stored reply, made to look generated elsewhere: streaming, with another instance's live lease.
    await ds.query(
      `UPDATE messages SET status = 'streaming', lease_owner = 'jobs-elsewhere', lease_expires_at = now() + interval '1 minute' WHERE id = $1`,
      [storedMessageId],
    );
    try {
      const { res, ms } = await timed(() =>
        t.http().post(`/api/chats/${chatId}/messages/${storedMessageId}/cancel`).set(admin.bearer),
      );
      expect(ms).toBeLessThan(1000);
      expect({ status: res.status, error: res.body?.error, retryAfter: typeof res.headers['retry-after'] }).toEqual({
        status: 503,
        error: 'SERVICE_UNAVAILABLE',
        retryAfter: 'string',
      });
    } finally {
      await ds.query(
        `UPDATE messages SET status = 'complete', lease_owner = NULL, lease_expires_at = NULL WHERE id = $1`,
        [storedMessageId],
      );
    }
  });
});
