import { EventSource } from 'eventsource';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { contentOf, readSse, seeded, SseEvent } from 'test/e2e/chats-sse';
import { TestApp, withTestApp } from 'test/utils/test-app';

const ids = (events: SseEvent[]) => events.map((e) => e.id as string);
const idKey = (id: string) => id.split('-').map(Number) as [number, number];
const increasing = (list: string[]) =>
  list.every(
    (id, i) =>
      i === 0 ||
      idKey(id)[0] > idKey(list[i - 1])[0] ||
      (idKey(id)[0] === idKey(list[i - 1])[0] && idKey(id)[1] > idKey(list[i - 1])[1]),
  );

async function setup(t: TestApp, agentConfig: Record<string, unknown>) {
  const { admin, user, outsider } = await teamMatrix(t);
  const agent = await t
    .http()
    .post('/api/agents')
    .set(admin.bearer)
    .send({ name: 'Streamer', provider: 'mock', model: 'mock-1', config: agentConfig })
    .expect(201);
  const chat = await t
    .http()
    .post('/api/chats')
    .set(user.bearer)
    .send({ agentId: agent.body.id, title: 'Streams' })
    .expect(201);
  return { admin, user, outsider, agentId: agent.body.id as string, chatId: chat.body.id as string };
}

async function storedMessage(
  t: TestApp,
  s: Session,
  chatId: string,
  messageId: string,
  status?: string,
): Promise<{ content: string; status: string }> {
  for (let i = 0; i < 400; i++) {
    const res = await t.http().get(`/api/chats/${chatId}/tree`).set(s.bearer).expect(200);
    const m = res.body.items.find((x: { id: string }) => x.id === messageId);
    if (m && m.status !== 'streaming' && (!status || m.status === status)) return m;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('message did not finish');
}

describe('Chat streams: resume, heartbeat, cancel, slow consumers', () => {
  let admin: Session;
  let user: Session;
  let chatId: string;
  const streamUrl = (messageId: string) => `${t.url}/api/chats/${chatId}/messages/${messageId}/stream`;

  const t = withTestApp({
    env: {
      SSE_HEARTBEAT_MS: '200',
      SSE_SUBSCRIBER_QUEUE_MAX: '8',
      CHAT_MESSAGES_PER_MINUTE: '1000',
      CHAT_MAX_CONCURRENT_GENERATIONS: '50',
    },
  });
  beforeAll(async () => {
    ({ admin, user, chatId } = await setup(t, { mockDeltas: 40, mockDelayMs: 3 }));
  });

  const send = (content: string, extra: { maxEvents?: number; headers?: Record<string, string> } = {}) =>
    readSse(`${t.url}/api/chats/${chatId}/messages`, {
      method: 'POST',
      headers: { ...user.bearer, ...extra.headers },
      body: { content },
      maxEvents: extra.maxEvents,
    });

  it('streams the reply as the POST response: status first, deltas, done last, with ids and types', async () => {
    const r = await send('Tell me about resumable streams');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('text/event-stream');
    // An open stream keeps only the headers that apply to a resource that is never rendered (sse-writer.ts).
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['cross-origin-resource-policy']).toBe('same-site');
    expect(r.headers['content-security-policy']).toBeUndefined();
    expect(r.headers['x-frame-options']).toBeUndefined();
    expect(r.retry).toBeGreaterThan(0);
    expect(r.ended).toBe(true);
    expect(r.events[0].event).toBe('status');
    const status = r.events[0].data.data as { userMessageId: string; assistantMessageId: string };
    expect(status).toEqual(
      expect.objectContaining({
        description: expect.any(String),
        level: 'info',
        done: false,
        userMessageId: expect.any(String),
        assistantMessageId: expect.any(String),
      }),
    );
    for (const e of r.events) expect(e.data.type).toBe(e.event);
    // 40 deltas upstream; deltas that queue behind an append are coalesced into one event, so at most 40
    // (the whole text is checked against the stored message below).
    const messages = r.events.filter((e) => e.event === 'message').length;
    expect(messages).toBeGreaterThan(0);
    expect(messages).toBeLessThanOrEqual(40);
    const last = r.events[r.events.length - 1];
    expect(last.event).toBe('done');
    expect(last.data.data).toEqual(
      expect.objectContaining({
        message: 'Stream completed',
        messageId: status.assistantMessageId,
        status: 'complete',
        usage: expect.any(Object),
      }),
    );
    expect(increasing(ids(r.events))).toBe(true);
    const stored = await storedMessage(t, user, chatId, status.assistantMessageId);
    expect(stored.status).toBe('complete');
    expect(contentOf(r.events)).toBe(stored.content);
  });

  it('gives exactly the stored content across disconnects at random cut points (seeded property test)', async () => {
    const random = seeded(20261122);
    for (let round = 0; round < 6; round++) {
      const first = await send(`Round ${round} about property based testing`, {
        maxEvents: 1 + Math.floor(random() * 6),
      });
      const messageId = (first.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
      const all = [...first.events];
      let ended = first.ended;
      for (let hops = 0; !ended && hops < 100; hops++) {
        const lastId = all[all.length - 1].id as string;
        const useQuery = random() < 0.3;
        const url = useQuery
          ? `${streamUrl(messageId)}?lastEventId=${encodeURIComponent(lastId)}`
          : streamUrl(messageId);
        const next = await readSse(url, {
          headers: { ...user.bearer, ...(useQuery ? {} : { 'Last-Event-ID': lastId }) },
          maxEvents: 1 + Math.floor(random() * 8),
        });
        if (next.status === 204) {
          // It already had the terminal event (the cut fell right after it): nothing more to send.
          expect(['done', 'error']).toContain(all[all.length - 1].event);
          break;
        }
        expect(next.status).toBe(200);
        all.push(...next.events);
        ended = next.ended;
      }
      expect(all[all.length - 1].event).toBe('done');
      expect(new Set(ids(all)).size).toBe(all.length);
      expect(increasing(ids(all))).toBe(true);
      const stored = await storedMessage(t, user, chatId, messageId);
      expect(contentOf(all)).toBe(stored.content);
    }
  });

  it('resumes exactly from every position of a finished stream', async () => {
    const full = await send('Every position of a stream');
    const messageId = (full.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
    const stored = await storedMessage(t, user, chatId, messageId);
    for (let p = 1; p < full.events.length; p++) {
      const rest = await readSse(streamUrl(messageId), {
        headers: { ...user.bearer, 'Last-Event-ID': full.events[p - 1].id as string },
      });
      expect(contentOf(full.events.slice(0, p)) + contentOf(rest.events)).toBe(stored.content);
      expect(ids(rest.events)).toEqual(ids(full.events.slice(p)));
    }
  });

  it('answers 204 to a reconnect after the terminal event, so EventSource stops', async () => {
    const full = await send('Ending cleanly');
    const messageId = (full.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
    const res = await t
      .http()
      .get(`/api/chats/${chatId}/messages/${messageId}/stream`)
      .set(user.bearer)
      .set('Last-Event-ID', full.events[full.events.length - 1].id as string);
    expect(res.status).toBe(204);
  });

  it('sends ": ping" heartbeats while waiting for the first token', async () => {
    const slow = await setupAgentChat({ mockDeltas: 3, mockDelayMs: 1, mockFirstTokenDelayMs: 900 });
    const r = await readSse(`${t.url}/api/chats/${slow}/messages`, {
      method: 'POST',
      headers: user.bearer,
      body: { content: 'slow first token' },
    });
    expect(r.comments.filter((c) => c === 'ping').length).toBeGreaterThanOrEqual(2);
    expect(r.body.indexOf(': ping')).toBeLessThan(r.body.indexOf('event: message'));
  });

  it('keeps generating when the client disconnects', async () => {
    const r = await send('Disconnect early please', { maxEvents: 2 });
    expect(r.ended).toBe(false);
    const messageId = (r.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
    const stored = await storedMessage(t, user, chatId, messageId);
    expect(stored.status).toBe('complete');
    const again = await readSse(streamUrl(messageId), { headers: user.bearer });
    expect(contentOf(again.events)).toBe(stored.content);
    const messages = again.events.filter((e) => e.event === 'message').length;
    expect(messages).toBeGreaterThan(0);
    expect(messages).toBeLessThanOrEqual(40); // coalesced deltas: see the first test
  });

  // The slow-consumer drop (bounded per-subscriber queue) is proven in test/medium/chats/generation.spec.ts,
  // where backpressure can be applied deterministically instead of by outgrowing the kernel's socket buffers.

  it('a real EventSource client reconnects on its own and stops after done', async () => {
    const accepted = await t
      .http()
      .post(`/api/chats/${chatId}/messages`)
      .set(user.bearer)
      .set('Accept', 'application/json')
      .send({ content: 'eventsource client' })
      .expect(202);
    let connections = 0;
    const seen: string[] = [];
    const es = new EventSource(`${t.url}${accepted.body.streamUrl}`, {
      fetch: async (input, init) => {
        connections++;
        const res = await fetch(input, {
          ...init,
          headers: { ...(init?.headers as Record<string, string>), ...user.bearer },
        });
        if (connections > 2 || !res.body) return res;
        // The first two connections break after a few chunks, as a flaky network would.
        const reader = res.body.getReader();
        let chunks = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(ctrl) {
            const { done, value } = await reader.read();
            if (done || ++chunks > 4) {
              ctrl.close();
              await reader.cancel().catch(() => undefined);
              return;
            }
            ctrl.enqueue(value);
          },
        });
        return new Response(body, { status: res.status, headers: res.headers });
      },
    });
    const closed = new Promise<void>((resolve) => {
      es.addEventListener('message', (e) => seen.push(JSON.parse(e.data).data.content));
      es.addEventListener('error', () => {
        if (es.readyState === EventSource.CLOSED) resolve();
      });
    });
    let doneSeen = false;
    es.addEventListener('done', () => (doneSeen = true));
    await closed; // after done, the server ends; the reconnect gets 204 and the client stops
    const connectionsAtClose = connections;
    await new Promise((r) => setTimeout(r, 500));
    es.close();
    expect(doneSeen).toBe(true);
    expect(connections).toBe(connectionsAtClose);
    expect(connections).toBeGreaterThanOrEqual(3);
    const stored = await storedMessage(t, user, chatId, accepted.body.assistantMessage.id);
    expect(seen.join('')).toBe(stored.content);
  }, 45000);

  async function setupAgentChat(config: Record<string, unknown>): Promise<string> {
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: `a-${Math.random()}`, provider: 'mock', model: 'mock-1', config })
      .expect(201);
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId: agent.body.id }).expect(201);
    return chat.body.id;
  }
});
