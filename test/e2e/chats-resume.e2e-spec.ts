import { StreamLog } from 'src/streaming/stream-log';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import { contentOf, readSse } from 'test/e2e/chats-sse';
import { createTestApp, TestApp, withTestApp } from 'test/utils/test-app';

async function waitStored(
  t: TestApp,
  s: Session,
  chatId: string,
  messageId: string,
): Promise<{ content: string; status: string }> {
  for (let i = 0; i < 400; i++) {
    const res = await t.http().get(`/api/chats/${chatId}/tree`).set(s.bearer).expect(200);
    const m = res.body.items.find((x: { id: string }) => x.id === messageId);
    if (m && m.status !== 'streaming') return m;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('message did not finish');
}

describe('Chat streams after the log expired (served from the database)', () => {
  let admin: Session;
  let user: Session;

  const t = withTestApp({ env: { STREAM_RETENTION_SEC: '1' } });
  beforeAll(async () => {
    ({ admin, user } = await teamMatrix(t));
  });

  it('resumes exactly from every position once the log no longer holds the stream', async () => {
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Expiring', provider: 'mock', model: 'mock-1', config: { mockDeltas: 25, mockDelayMs: 1 } })
      .expect(201);
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId: agent.body.id }).expect(201);
    const full = await readSse(`${t.url}/api/chats/${chat.body.id}/messages`, {
      method: 'POST',
      headers: user.bearer,
      body: { content: 'expire the log' },
    });
    const messageId = (full.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
    const stored = await waitStored(t, user, chat.body.id, messageId);
    expect(contentOf(full.events)).toBe(stored.content);

    const log = t.app.get(StreamLog);
    for (let i = 0; i < 100 && (await log.read(`chat:${messageId}`, null)).known; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await log.read(`chat:${messageId}`, null)).known).toBe(false);

    const url = `${t.url}/api/chats/${chat.body.id}/messages/${messageId}/stream`;
    for (let p = 1; p < full.events.length - 1; p++) {
      const rest = await readSse(url, {
        headers: { ...user.bearer, 'Last-Event-ID': full.events[p - 1].id as string },
      });
      expect(contentOf(full.events.slice(0, p)) + contentOf(rest.events)).toBe(stored.content);
      const terminal = rest.events[rest.events.length - 1];
      expect(terminal.event).toBe('done');
      expect(terminal.id).toBe(full.events[full.events.length - 1].id); // the very id the log used
    }
    const fromStart = await readSse(url, { headers: user.bearer });
    expect(contentOf(fromStart.events)).toBe(stored.content);
    const after = await t
      .http()
      .get(`/api/chats/${chat.body.id}/messages/${messageId}/stream`)
      .set(user.bearer)
      .set('Last-Event-ID', full.events[full.events.length - 1].id as string);
    expect(after.status).toBe(204);
  });
});

describe('Cancel', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session;
  let outsider: Session;
  const upstream = new FakeOpenAiServer();

  beforeAll(async () => {
    await upstream.start();
    t = await createTestApp({ env: { ALLOW_PRIVATE_UPSTREAMS: 'true' } });
    ({ admin, user, outsider } = await teamMatrix(t));
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200)); // let the audit write of the last request land
    await t?.close();
    await upstream.stop();
  });

  it('stops the upstream call, keeps the partial answer and ends every subscriber with cancelled', async () => {
    upstream.setDefault({ deltas: Array.from({ length: 400 }, (_, i) => `tok${i} `), delayMs: 20 });
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({
        name: 'Upstream',
        provider: 'openai',
        model: 'gpt-fake',
        baseUrl: `${upstream.baseUrl}/v1`,
        apiKey: 'sk-fake-key',
      })
      .expect(201);
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId: agent.body.id }).expect(201);
    const accepted = await t
      .http()
      .post(`/api/chats/${chat.body.id}/messages`)
      .set(user.bearer)
      .set('Accept', 'application/json')
      .send({ content: 'a long answer please' })
      .expect(202);
    const streamUrl = `${t.url}${accepted.body.streamUrl}`;
    const follower = readSse(streamUrl, { headers: user.bearer });
    const early = await readSse(streamUrl, { headers: user.bearer, maxEvents: 6 });
    expect(contentOf(early.events).length).toBeGreaterThan(0);

    const base = `/api/chats/${chat.body.id}/messages/${accepted.body.assistantMessage.id}`;
    await t.http().post(`${base}/cancel`).set(outsider.bearer).expect(404);
    const cancelled = await t.http().post(`${base}/cancel`).set(user.bearer).expect(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.content.length).toBeGreaterThan(0);
    expect(cancelled.body.content.length).toBeLessThan(400 * 5);

    const req = upstream.lastRequest!;
    await upstream.waitForFinish(req);
    expect(req.clientClosed).toBe(true);

    const followed = await follower;
    expect(followed.ended).toBe(true);
    const last = followed.events[followed.events.length - 1];
    expect(last.event).toBe('done');
    expect(last.data.data).toEqual(expect.objectContaining({ status: 'cancelled' }));
    expect(contentOf(followed.events)).toBe(cancelled.body.content);

    const again = await t.http().post(`${base}/cancel`).set(user.bearer).expect(200);
    expect(again.body).toEqual(cancelled.body);
  });
});
