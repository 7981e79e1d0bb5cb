import { Session, teamMatrix } from 'test/factories/auth.factory';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import { createTestApp, TestApp } from 'test/utils/test-app';

interface Chunk {
  type: 'token' | 'tool_call' | 'complete' | 'error';
  content: string | null;
  tool_call: { id: string; name: string; arguments: string } | null;
  error: string | null;
  agent_type: string | null;
}

/** Canvalo's documented requests (seed 004) against /compat/canvalo, with a team API key. */
describe('Canvalo compat surface', () => {
  const upstream = new FakeOpenAiServer();
  let t: TestApp;
  let admin: Session;
  let outsider: Session;
  let key: string;
  let outsiderKey: string;
  let billing: string;
  let tools: string;
  const base = '/compat/canvalo/api';

  const routeCall = (agentId: string, reason: string) => ({
    deltas: [],
    toolCalls: [{ id: 'call_route', name: 'route_to_agent', argumentPieces: [JSON.stringify({ agentId, reason })] }],
  });
  const auth = (k: string) => ({ Authorization: `Bearer ${k}` });

  /** POSTs a chat/stream request and parses the `data:` chunks. */
  async function stream(
    k: string,
    body: Record<string, unknown>,
  ): Promise<{ status: number; chunks: Chunk[]; raw: string; ms: number }> {
    const started = Date.now();
    const res = await t
      .http()
      .post(`${base}/chat/stream`)
      .set(auth(k))
      .send(body)
      .buffer(true)
      .parse((r, cb) => {
        let text = '';
        r.on('data', (d: Buffer) => (text += d.toString()));
        r.on('end', () => cb(null, text));
      });
    const raw = res.body as string;
    const chunks =
      res.status === 200
        ? raw
            .split('\n\n')
            .filter(Boolean)
            .map((f) => JSON.parse(f.replace(/^data: /, '')) as Chunk)
        : [];
    return { status: res.status, chunks, raw, ms: Date.now() - started };
  }

  beforeAll(async () => {
    await upstream.start();
    t = await createTestApp({
      env: {
        ALLOW_PRIVATE_UPSTREAMS: 'true',
        LLM_MAX_ATTEMPTS: '1',
        CANVALO_RETRY_BASE_MS: '100',
        LLM_BREAKER_FAILURE_THRESHOLD: '1000',
      },
    });
    ({ admin, outsider } = await teamMatrix(t));
    const agent = async (s: Session, body: Record<string, unknown>) =>
      (await t.http().post('/api/agents').set(s.bearer).send(body).expect(201)).body.id as string;
    billing = await agent(admin, {
      name: 'Billing',
      provider: 'mock',
      config: { mockContent: 'Your invoice is paid.', mockDeltas: 3 },
    });
    tools = await agent(admin, {
      name: 'Tool Desk',
      provider: 'openai',
      model: 'gpt-tools',
      baseUrl: `${upstream.baseUrl}/v1`,
      apiKey: 'k',
    });
    await agent(admin, {
      name: 'Supervisor',
      provider: 'openai',
      model: 'gpt-router',
      baseUrl: `${upstream.baseUrl}/v1`,
      apiKey: 'k',
      config: {
        router: {
          candidates: [
            { agentId: billing, description: 'invoices' },
            { agentId: tools, description: 'actions' },
          ],
          defaultAgentId: billing,
        },
      },
    });
    key = (
      await t
        .http()
        .post('/api/api-keys')
        .set(admin.bearer)
        .send({ name: 'canvalo', scopes: ['chat'] })
        .expect(201)
    ).body.key;
    outsiderKey = (
      await t
        .http()
        .post('/api/api-keys')
        .set(outsider.bearer)
        .send({ name: 'other', scopes: ['chat'] })
        .expect(201)
    ).body.key;
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200));
    await t?.close();
    await upstream.stop();
  });
  beforeEach(() => upstream.reset());

  it('manages conversations per Canvalo user: create, list, read, delete; another team or user gets 404', async () => {
    const created = await t
      .http()
      .post(`${base}/conversations`)
      .set(auth(key))
      .send({ user_id: 'u-1', title: 'Invoices' })
      .expect(200);
    expect(created.body).toEqual({
      id: expect.any(String),
      user_id: 'u-1',
      title: 'Invoices',
      created_at: expect.any(String),
      updated_at: expect.any(String),
      last_message_at: null,
      message_count: 0,
      metadata: {},
    });
    const id = created.body.id;
    const list = await t.http().get(`${base}/conversations`).query({ user_id: 'u-1' }).set(auth(key)).expect(200);
    expect(list.body.map((c: { id: string }) => c.id)).toContain(id);
    expect(
      (await t.http().get(`${base}/conversations`).query({ user_id: 'u-2' }).set(auth(key)).expect(200)).body,
    ).toEqual([]);
    const one = await t.http().get(`${base}/conversations/${id}`).query({ user_id: 'u-1' }).set(auth(key)).expect(200);
    expect(one.body).toEqual(expect.objectContaining({ id, messages: [] }));

    for (const [k, user] of [
      [outsiderKey, 'u-1'],
      [key, 'u-2'],
    ] as const) {
      const res = await t.http().get(`${base}/conversations/${id}`).query({ user_id: user }).set(auth(k));
      expect(res.status).toBe(404);
      expect(res.body.error).toEqual(
        expect.objectContaining({
          code: 'NOT_FOUND',
          userMessage: expect.any(String),
          suggestedActions: expect.any(Array),
          retryable: false,
        }),
      );
      await t.http().delete(`${base}/conversations/${id}`).query({ user_id: user }).set(auth(k)).expect(404);
    }
    expect(
      (await t.http().get(`${base}/conversations`).query({ user_id: 'u-1' }).set(auth(outsiderKey)).expect(200)).body,
    ).toEqual([]);
    await t.http().get(`${base}/conversations/not-a-uuid`).query({ user_id: 'u-1' }).set(auth(key)).expect(404);

    expect(
      (await t.http().delete(`${base}/conversations/${id}`).query({ user_id: 'u-1' }).set(auth(key)).expect(200)).body,
    ).toEqual({ success: true });
    await t.http().get(`${base}/conversations/${id}`).query({ user_id: 'u-1' }).set(auth(key)).expect(404);
  });

  it("streams token chunks then complete through the team's router, with the history, and stores the exchange in the conversation", async () => {
    const conv = (await t.http().post(`${base}/conversations`).set(auth(key)).send({ user_id: 'u-1' }).expect(200))
      .body;
    upstream.enqueue(routeCall(billing, 'invoice question'));
    const { status, chunks } = await stream(key, {
      message: 'Is my invoice paid?',
      conversation_id: conv.id,
      user_id: 'u-1',
      history: [
        { id: 'm1', content: 'Hello', role: 'user', timestamp: '2026-01-01T00:00:00Z' },
        {
          id: 'm2',
          content: 'Hi! How can I help?',
          role: 'assistant',
          timestamp: '2026-01-01T00:00:01Z',
          agent_type: 'supervisor',
        },
      ],
    });
    expect(status).toBe(200);
    const last = chunks[chunks.length - 1];
    const tokens = chunks.slice(0, -1);
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.every((c) => c.type === 'token')).toBe(true);
    expect(tokens[0]).toEqual({
      type: 'token',
      content: expect.any(String),
      tool_call: null,
      error: null,
      agent_type: 'billing',
    });
    expect(tokens.map((c) => c.content).join('')).toBe('Your invoice is paid.');
    expect(last).toEqual({
      type: 'complete',
      content: 'Your invoice is paid.',
      tool_call: null,
      error: null,
      agent_type: 'billing',
    });
    // The routing call carried the new message as the last user turn.
    expect(upstream.requests[0].body.messages.at(-1)).toEqual({ role: 'user', content: 'Is my invoice paid?' });

    const stored = await t
      .http()
      .get(`${base}/conversations/${conv.id}`)
      .query({ user_id: 'u-1' })
      .set(auth(key))
      .expect(200);
    expect(stored.body.message_count).toBe(2);
    expect(
      stored.body.messages.map((m: { role: string; content: string; agent_type: string | null }) => [
        m.role,
        m.content,
        m.agent_type,
      ]),
    ).toEqual([
      ['user', 'Is my invoice paid?', null],
      ['assistant', 'Your invoice is paid.', 'billing'],
    ]);
  });

  it('streams tool_call chunks', async () => {
    upstream.enqueue(routeCall(tools, 'needs a tool'), {
      deltas: ['Checking'],
      toolCalls: [{ id: 'call_t', name: 'lookup_invoice', argumentPieces: ['{"id":', '42}'] }],
    });
    const { chunks } = await stream(key, {
      message: 'look up invoice 42',
      conversation_id: 'ephemeral',
      user_id: 'u-9',
    });
    expect(chunks.map((c) => c.type)).toEqual(['token', 'tool_call', 'tool_call', 'tool_call', 'complete']);
    expect(chunks[3].tool_call).toEqual({ id: 'call_t', name: 'lookup_invoice', arguments: '{"id":42}' });
    expect(chunks[3].agent_type).toBe('tool_desk');
  });

  it('retries 1/2/4 × base before the first token, then sends one friendly error chunk', async () => {
    const flaky = (
      await t
        .http()
        .post('/api/agents')
        .set(outsider.bearer)
        .send({ name: 'Flaky', provider: 'mock', config: { mockError: 'server', mockErrorTimes: 2 } })
        .expect(201)
    ).body.id;
    const recovered = await stream(outsiderKey, { message: 'hi', conversation_id: 'x', user_id: 'o-1' });
    expect(recovered.chunks.at(-1)?.type).toBe('complete');
    expect(recovered.ms).toBeGreaterThanOrEqual(300); // waited 100 + 200 ms

    await t
      .http()
      .patch(`/api/agents/${flaky}`)
      .set(outsider.bearer)
      .send({ config: { mockError: 'server', mockErrorTimes: 100 } })
      .expect(200);
    const failed = await stream(outsiderKey, { message: 'hi', conversation_id: 'x', user_id: 'o-1' });
    expect(failed.ms).toBeGreaterThanOrEqual(700); // 100 + 200 + 400 ms
    expect(failed.chunks).toEqual([
      {
        type: 'error',
        content: null,
        tool_call: null,
        error: 'The assistant is temporarily unavailable. Please try again in a moment.',
        agent_type: null,
      },
    ]);
  });

  it("answers errors in Canvalo's shape: 422 for a bad body, 401 without a valid key", async () => {
    const bad = await t
      .http()
      .post(`${base}/chat/stream`)
      .set(auth(key))
      .send({ conversation_id: 'x', user_id: 'u' })
      .expect(422);
    expect(bad.body.error).toEqual(expect.objectContaining({ code: 'VALIDATION_ERROR', retryable: false }));
    const noKey = await t.http().get(`${base}/conversations`).query({ user_id: 'u' }).expect(401);
    expect(noKey.body.error.code).toBe('UNAUTHORIZED');
    await t.http().get(`${base}/conversations`).query({ user_id: 'u' }).set(admin.bearer).expect(401);
  });
});
