import { randomUUID } from 'node:crypto';
import {
  Api,
  call,
  Cluster,
  contentOf,
  contiguousContent,
  followToEnd,
  hasBuild,
  hasNginx,
  Instance,
  loginAdmin,
  readSse,
  SseRead,
  sleep,
  until,
} from 'test/cluster/cluster-kit';
import { hasRedisServer } from 'test/utils/private-redis';

/**
 * Scale-out proven with real parts: two `node dist/src/main.js` processes behind nginx running
 * deploy/nginx/chat.conf.template, on PostgreSQL and Redis. Every request goes through nginx unless the
 * case is about one instance (cancel through either, observing which instance serves a stream).
 */
const missing = [
  !hasBuild() && 'a build (npm run test:cluster builds first)',
  !hasNginx() && 'nginx',
  !hasRedisServer() && 'redis-server',
].filter(Boolean);
if (missing.length) throw new Error(`the cluster tier needs ${missing.join(', ')}`);

describe('Scale-out behind nginx (two instances, PostgreSQL, Redis)', () => {
  const cluster = new Cluster();
  let api: Api;
  let slowAgent: string;
  let [a, b]: Instance[] = [];

  beforeAll(async () => {
    await cluster.start();
    [a, b] = cluster.instances;
    api = await loginAdmin(cluster.nginx.url);
    const agent = await call(api, 'POST', '/api/agents', {
      name: 'Slow',
      provider: 'mock',
      model: 'mock-1',
      config: { mockDeltas: 250, mockDelayMs: 12 },
    });
    expect(agent.status).toBe(201);
    slowAgent = agent.body.id;
  }, 240000);
  afterAll(() => cluster.stop(), 60000);

  const newChat = async (): Promise<string> => {
    const chat = await call(api, 'POST', '/api/chats', { agentId: slowAgent });
    expect(chat.status).toBe(201);
    return chat.body.id;
  };
  /** Sends through nginx and returns the stream URL (the reply is generated on whichever instance got it). */
  const send = async (
    chatId: string,
    content = 'tell me about load balancers',
  ): Promise<{ messageId: string; url: string }> => {
    const res = await call(
      api,
      'POST',
      `/api/chats/${chatId}/messages`,
      { content, clientMessageId: randomUUID() },
      { accept: 'application/json' },
    );
    expect(res.status).toBe(202);
    return { messageId: res.body.assistantMessage.id, url: `${cluster.nginx.url}${res.body.streamUrl}` };
  };
  const stored = (messageId: string) =>
    until(
      `message ${messageId} final`,
      async () => {
        const [m] = await cluster.sql<{ status: string; content: string; error_code: string | null }>(
          'SELECT status, content, error_code FROM messages WHERE id = $1',
          [messageId],
        );
        return m && m.status !== 'streaming' ? m : undefined;
      },
      60000,
      100,
    );
  /** The instance with an open SSE subscriber (asked directly, not through nginx). */
  const serving = () =>
    until(
      'a subscriber on one instance',
      async () => {
        const [na, nb] = [await a.metric('sse_subscribers_active'), await b.metric('sse_subscribers_active')];
        return na > 0 && nb === 0 ? a : nb > 0 && na === 0 ? b : undefined;
      },
      10000,
      50,
    );

  it('(1) a stream continues exactly after kill -9 of the instance serving it, via the other', async () => {
    const chatId = await newChat();
    const { messageId, url } = await send(chatId);
    let count = 0;
    const first = readSse(url, {
      headers: api.headers,
      timeoutMs: 60000,
      onEvent: (_e, n) => {
        count = n;
      },
    });
    const victim = await serving();
    await until('some content', async () => count >= 20, 20000, 20);
    const killed = victim.kill9();
    const followed = await followToEnd(url, api.headers, { first });
    await killed;
    const m = await stored(messageId);
    expect(followed.connections).toBeGreaterThan(1);
    expect(contiguousContent(followed.events)).toBe(m.content);
    const last = followed.events[followed.events.length - 1];
    // The reply ends as stored: done if the other instance generated it, INTERRUPTED if the victim did.
    if (m.status === 'complete') expect(last.event).toBe('done');
    else expect([m.status, m.error_code, last.event]).toEqual(['error', 'INTERRUPTED', 'error']);
    await victim.start();
  });

  it('(2) cancel through either instance reaches the one generating', async () => {
    for (const via of [a, b]) {
      const chatId = await newChat();
      const { messageId, url } = await send(chatId);
      const follower = followToEnd(url, api.headers);
      await until(
        'content stored',
        async () =>
          ((await cluster.sql<{ n: number }>('SELECT length(content) AS n FROM messages WHERE id = $1', [messageId]))[0]
            ?.n ?? 0) > 0,
        20000,
        50,
      );
      const res = await call(
        { base: via.url, headers: api.headers },
        'POST',
        `/api/chats/${chatId}/messages/${messageId}/cancel`,
      );
      expect(res.status).toBeLessThan(300);
      const followed = await follower;
      const m = await stored(messageId);
      expect(m.status).toBe('cancelled');
      expect(followed.events[followed.events.length - 1]).toMatchObject({
        event: 'done',
        data: { data: { status: 'cancelled' } },
      });
      expect(contiguousContent(followed.events)).toBe(m.content);
    }
  });

  it('(3) a rolling restart under continuous load: 0 failed requests, every interrupted stream resumes exactly', async () => {
    const failures: string[] = [];
    const replies: Array<{ messageId: string; events: Awaited<ReturnType<typeof followToEnd>> }> = [];
    let requests = 0;
    let stop = false;
    const chats = await Promise.all([1, 2, 3, 4].map(() => newChat()));
    const worker = async (chatId: string): Promise<void> => {
      for (let i = 0; i < 40 && !stop; i++) {
        requests++;
        const list = await call(api, 'GET', '/api/chats?limit=5').catch((e: Error) => ({ status: 0, body: e.message }));
        if (list.status !== 200) failures.push(`GET /api/chats ${list.status} ${JSON.stringify(list.body)}`);
        requests++;
        // POST with SSE through nginx, as a browser sends; then resume until the terminal event. A drain can
        // end the response before its first event (only the retry hint): the client sends again with the
        // same clientMessageId and gets the same exchange.
        const clientMessageId = randomUUID();
        let head: SseRead = { status: 0, headers: {}, events: [], comments: [], ended: false, body: '' };
        for (let attempt = 0; attempt < 3 && !head.events.length; attempt++) {
          if (attempt) requests++;
          head = await readSse(`${cluster.nginx.url}/api/chats/${chatId}/messages`, {
            method: 'POST',
            headers: api.headers,
            body: { content: `load ${i}`, clientMessageId },
            timeoutMs: 60000,
          }).catch((e: Error) => ({ ...head, status: 0, body: e.message }));
          if (head.status !== 200) failures.push(`POST messages ${head.status} ${head.body.slice(0, 200)}`);
        }
        if (!head.events.length) {
          failures.push('POST messages: no event after 3 attempts');
          continue;
        }
        const messageId = (head.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
        const url = `${cluster.nginx.url}/api/chats/${chatId}/messages/${messageId}/stream`;
        try {
          const followed = await followToEnd(url, api.headers, { first: Promise.resolve(head) });
          for (const s of followed.statuses) if (s !== 200 && s !== 204) failures.push(`stream ${s}`);
          requests += followed.connections - 1;
          replies.push({ messageId, events: followed });
        } catch (e) {
          failures.push(`stream ${messageId}: ${(e as Error).message}`);
        }
      }
    };
    const load = Promise.all(chats.map((c) => worker(c)));
    await sleep(1500);
    for (const inst of [a, b]) {
      const code = await inst.stop();
      // A graceful exit (0) within SHUTDOWN_TIMEOUT_MS; the log says why otherwise.
      expect({ code, log: code === 0 ? '' : inst.log.slice(-3000) }).toEqual({ code: 0, log: '' });
      await sleep(500);
      await inst.start();
      await sleep(1500);
    }
    stop = true;
    await load;
    if (failures.length) {
      // eslint-disable-next-line no-console
      console.log(`nginx error log:\n${cluster.nginx.errors()}`);
    }
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(20);
    let interrupted = 0;
    for (const r of replies) {
      const m = await stored(r.messageId);
      expect(contiguousContent(r.events.events)).toBe(m.content);
      const last = r.events.events[r.events.events.length - 1];
      expect(last.event).toBe(m.status === 'complete' || m.status === 'cancelled' ? 'done' : 'error');
      if (r.events.connections > 1) interrupted++;
    }
    // The drain told the open streams to reconnect: some were interrupted, and each resumed exactly.
    expect(interrupted).toBeGreaterThan(0);
  });

  it('(4) Redis restarted with empty data mid-stream: no silent gap', async () => {
    const chatId = await newChat();
    const { messageId, url } = await send(chatId);
    let count = 0;
    const first = readSse(url, { headers: api.headers, timeoutMs: 60000, onEvent: (_e, n) => void (count = n) });
    await until('some content', async () => count >= 20, 20000, 20);
    await cluster.redis.restart(300);
    const followed = await followToEnd(url, api.headers, { first });
    const m = await stored(messageId);
    expect(contiguousContent(followed.events)).toBe(m.content);
    expect(followed.events[followed.events.length - 1].event).toBe(m.status === 'complete' ? 'done' : 'error');
    // A full replay through nginx is exact too.
    const replay = await readSse(url, { headers: api.headers });
    expect(contentOf(replay.events)).toBe(m.content);
  });

  it('(5) PostgreSQL away and back: readiness 503, then recovery', async () => {
    await cluster.adminSql(`ALTER DATABASE "${cluster.dbName}" ALLOW_CONNECTIONS false`);
    try {
      await cluster.adminSql(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${cluster.dbName}' AND pid <> pg_backend_pid()`,
      );
      const down = await until(
        'readiness 503',
        async () => {
          const r = await call({ base: cluster.nginx.url, headers: {} }, 'GET', '/health/ready');
          return r.status === 503 ? r : undefined;
        },
        15000,
        200,
      );
      expect(down.status).toBe(503);
      const apiDown = await call(api, 'GET', '/api/chats');
      // Issue 14 asks for 503 DATABASE_UNAVAILABLE here (branch `edge`); never a 2xx with wrong data.
      expect(apiDown.status).toBeGreaterThanOrEqual(500);
    } finally {
      await cluster.adminSql(`ALTER DATABASE "${cluster.dbName}" ALLOW_CONNECTIONS true`);
    }
    const upAt = Date.now();
    await until(
      'readiness 200',
      async () => (await call({ base: cluster.nginx.url, headers: {} }, 'GET', '/health/ready')).status === 200,
      60000,
      200,
    );
    await until('API answers', async () => (await call(api, 'GET', '/api/chats')).status === 200, 60000, 200);
    // eslint-disable-next-line no-console
    console.log(`cluster: recovered ${Date.now() - upAt} ms after PostgreSQL accepted connections again`);
  });
});
