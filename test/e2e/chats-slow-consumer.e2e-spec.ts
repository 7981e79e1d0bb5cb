import { request as httpRequest, IncomingMessage } from 'node:http';
import { StreamLog } from 'src/streaming/stream-log';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import { contentOf, readSse, SseEvent } from 'test/e2e/chats-sse';
import { createTestApp, TestApp } from 'test/utils/test-app';

/**
 * The issue: "Per-subscriber queues are bounded: a consumer too slow to keep up is disconnected with its
 * last id intact, so it can resume, rather than growing memory." Proven here over a real TCP connection:
 * the client stops reading, the socket buffers fill (kernel send + receive buffers, then the response's
 * own buffer), `res.write()` returns false, the follower is paused and, once more than
 * SSE_SUBSCRIBER_QUEUE_MAX new events arrived during the pause, it is dropped.
 *
 * The reply must outgrow the socket buffers between the two processes. On Linux loopback a client that
 * never reads lets the kernel hold about 4 MB (tcp_wmem max + the initial receive window); the reply is
 * 24 MB so that the drop happens on any ordinary host. Nothing here depends on timing: every step waits
 * for a condition (with a deadline only to fail with a message instead of hanging).
 */
const DELTAS = 384;
const DELTA_CHARS = 64 * 1024;
const QUEUE_MAX = 4;

/** Unique deltas: a gap or a repeat anywhere changes the concatenation. */
const deltas = Array.from({ length: DELTAS }, (_, i) => {
  const head = `<${i}>`;
  return head + String.fromCharCode(97 + (i % 26)).repeat(DELTA_CHARS - head.length);
});
const fullReply = deltas.join('');

const seqOf = (e: SseEvent): number => Number((e.id as string).split('-')[1]);

/** Waits for `check` to return a value; fails with `what` after `timeoutMs` (a guard, not an assertion on time). */
async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The value of one sample `name{labels} value` of a Prometheus text exposition (undefined: absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/**
 * An SSE client on its own TCP connection that can stop reading: `pause()` stops consuming, so the
 * response's readable buffer fills, Node stops reading the socket and the kernel buffers fill behind it.
 * Only complete `\n\n`-terminated blocks count as received events.
 */
class PausableSseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  /** Resolves when the connection is over; `complete`: the HTTP response ended properly. */
  readonly closed: Promise<{ complete: boolean }>;
  private res?: IncomingMessage;
  private buf = '';
  private readonly listeners = new Set<() => void>();

  constructor(url: string, headers: Record<string, string>, body: unknown) {
    this.closed = new Promise((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = httpRequest(url, {
        method: 'POST',
        agent: false,
        headers: { Accept: 'text/event-stream', 'Content-Type': 'application/json', ...headers },
      });
      req.on('error', (err) => (this.res ? resolve({ complete: false }) : reject(err)));
      req.on('response', (res) => {
        this.res = res;
        this.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.onData(chunk));
        res.on('error', () => undefined); // 'aborted' when the server cuts the body: reported by 'close'
        res.on('close', () => resolve({ complete: res.complete }));
      });
      req.end(payload);
    });
  }

  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  /** Resolves once `pred` holds for the events received so far. */
  until(pred: (events: SseEvent[]) => boolean): Promise<void> {
    if (pred(this.events)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pred(this.events)) return;
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
      void this.closed.then(() => {
        if (this.listeners.delete(check))
          reject(new Error(`the stream closed first: ${JSON.stringify(this.events.slice(-2))}`));
      });
    });
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const ev: Partial<SseEvent> & { dataText?: string } = {};
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) ev.id = line.slice(4);
        else if (line.startsWith('event: ')) ev.event = line.slice(7);
        else if (line.startsWith('data: ')) ev.dataText = line.slice(6);
      }
      if (ev.event && ev.dataText !== undefined)
        this.events.push({ id: ev.id, event: ev.event, data: JSON.parse(ev.dataText) });
    }
    for (const l of [...this.listeners]) l();
  }
}

describe('Chat streams: a slow consumer over real HTTP', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session;
  const upstream = new FakeOpenAiServer();

  beforeAll(async () => {
    await upstream.start();
    t = await createTestApp({
      env: {
        ALLOW_PRIVATE_UPSTREAMS: 'true',
        SSE_SUBSCRIBER_QUEUE_MAX: String(QUEUE_MAX),
        SSE_HEARTBEAT_MS: '200',
        // Few large progress writes: each one appends to a multi-megabyte row.
        CHAT_PERSIST_CHARS: String(4 * 1024 * 1024),
      },
    });
    ({ admin, user } = await teamMatrix(t));
  });
  afterAll(async () => {
    await t?.close();
    await upstream.stop();
  });

  it('disconnects a client that stops reading, keeps generating, and the client resumes exactly from the last id it received', async () => {
    upstream.setDefault({ deltas, delayMs: 1 });
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({
        name: 'Big upstream',
        provider: 'openai',
        model: 'gpt-fake',
        baseUrl: `${upstream.baseUrl}/v1`,
        apiKey: 'sk-fake-key',
      })
      .expect(201);
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId: agent.body.id }).expect(201);
    const log = t.app.get(StreamLog);
    const droppedBefore = (await log.stats()).droppedSlowConsumers;

    // The reply streams as the POST response; read up to the status event, then stop reading.
    const client = new PausableSseClient(`${t.url}/api/chats/${chat.body.id}/messages`, user.bearer, {
      content: 'a very long answer please',
    });
    await client.until((events) => events.length > 0);
    client.pause();
    expect(client.status).toBe(200);
    const messageId = (client.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
    const key = `chat:${messageId}`;

    // The server drops the subscriber (bounded queue), and closes the response: no follower is left.
    await waitFor('the slow consumer to be dropped', async () => {
      const s = await log.stats();
      return s.droppedSlowConsumers > droppedBefore && !s.followersByKey[key];
    });
    const metrics = (await t.http().get('/metrics').expect(200)).text;
    expect(sample(metrics, 'chat_backend_sse_slow_consumers_dropped_total', { kind: 'chat' })).toBe(1);
    expect(sample(metrics, 'chat_backend_sse_subscribers_active', { kind: 'chat' })).toBe(0);

    // Reading again, the client gets what the buffers held, then the end of the connection, without a
    // terminal event: the connection ended, not the generation.
    client.resume();
    await client.closed;
    const first = client.events;
    expect(first.map((e) => e.event)).not.toContain('done');
    expect(first.map((e) => e.event)).not.toContain('error');
    expect(first.map(seqOf)).toEqual(first.map((_, i) => i + 1));
    expect(contentOf(first).length).toBeLessThan(fullReply.length);

    // The reply completes anyway, in full, and the upstream was never cut.
    const stored = await waitFor('the reply to finish', async () => {
      const res = await t.http().get(`/api/chats/${chat.body.id}/tree`).set(user.bearer).expect(200);
      const m = res.body.items.find((x: { id: string }) => x.id === messageId) as
        { status: string; content: string } | undefined;
      return m && m.status !== 'streaming' ? m : undefined;
    });
    expect(stored.status).toBe('complete');
    expect(stored.content).toBe(fullReply);
    expect(upstream.requests).toHaveLength(1);
    await upstream.waitForFinish(upstream.requests[0]);
    expect(upstream.requests[0].clientClosed).toBe(false);

    // Resume with the last id actually received: exactly the rest, no gap, no repeat.
    const lastId = first[first.length - 1].id as string;
    const rest = await readSse(`${t.url}/api/chats/${chat.body.id}/messages/${messageId}/stream`, {
      headers: { ...user.bearer, 'Last-Event-ID': lastId },
      timeoutMs: 60_000,
    });
    expect(rest.status).toBe(200);
    expect(rest.ended).toBe(true);
    expect(rest.events[rest.events.length - 1].event).toBe('done');
    expect(rest.events.map(seqOf)).toEqual(rest.events.map((_, i) => first.length + i + 1));
    expect(contentOf(first) + contentOf(rest.events)).toBe(fullReply);
  });
});
