import OpenAI from 'openai';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { contentOf, readSse } from 'test/e2e/chats-sse';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import { createTestApp, TestApp } from 'test/utils/test-app';

/** Supervisor routing: a router agent picks a candidate with its own model, or falls back to the default. */
describe('router agents', () => {
  const upstream = new FakeOpenAiServer();
  let t: TestApp;
  let admin: Session;
  let user: Session;
  let outsider: Session;
  let billing: string;
  let support: string;
  let router: string;

  const routeCall = (agentId: string, reason: string) => ({
    deltas: [],
    toolCalls: [{ id: 'call_route', name: 'route_to_agent', argumentPieces: [JSON.stringify({ agentId, reason })] }],
  });

  beforeAll(async () => {
    await upstream.start();
    t = await createTestApp({
      env: { ALLOW_PRIVATE_UPSTREAMS: 'true', LLM_MAX_ATTEMPTS: '1', LLM_BREAKER_FAILURE_THRESHOLD: '1000' },
    });
    ({ admin, user, outsider } = await teamMatrix(t));
    const mock = async (name: string, text: string) =>
      (
        await t
          .http()
          .post('/api/agents')
          .set(admin.bearer)
          .send({ name, provider: 'mock', description: name, config: { mockContent: text } })
          .expect(201)
      ).body.id as string;
    billing = await mock('Billing', 'billing answer');
    support = await mock('Support', 'support answer');
    router = (
      await t
        .http()
        .post('/api/agents')
        .set(admin.bearer)
        .send({
          name: 'Supervisor',
          provider: 'openai',
          model: 'gpt-router',
          baseUrl: `${upstream.baseUrl}/v1`,
          apiKey: 'k',
          config: {
            router: {
              candidates: [
                { agentId: billing, description: 'invoices, payments' },
                { agentId: support, description: 'everything else' },
              ],
              defaultAgentId: support,
            },
          },
        })
        .expect(201)
    ).body.id;
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200));
    await t?.close();
    await upstream.stop();
  });
  beforeEach(() => upstream.reset());

  async function ask(content: string) {
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId: router }).expect(201);
    const read = await readSse(`${t.url}/api/chats/${chat.body.id}/messages`, {
      method: 'POST',
      headers: user.bearer,
      body: { content },
    });
    const messageId = (read.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
    const detail = await t.http().get(`/api/chats/${chat.body.id}`).set(user.bearer).expect(200);
    return { read, message: detail.body.messages.find((m: { id: string }) => m.id === messageId) };
  }

  it('routes a chat message to the candidate its model picks: a status event with routedTo and reason, recorded on the message', async () => {
    upstream.enqueue(routeCall(billing, 'an invoice question'));
    const { read, message } = await ask('Why is my invoice wrong?');
    // The routing call: the router's own model, forced to the route tool, candidates as an enum.
    const sent = upstream.lastRequest!.body;
    expect(sent.model).toBe('gpt-router');
    expect(sent.tool_choice).toEqual({ type: 'function', function: { name: 'route_to_agent' } });
    expect(sent.tools[0].function.parameters.properties.agentId.enum).toEqual([billing, support]);
    expect(sent.messages[sent.messages.length - 1]).toEqual({ role: 'user', content: 'Why is my invoice wrong?' });

    const routed = read.events.find((e) => e.event === 'status' && e.data.data.routedTo);
    expect(routed?.data.data).toEqual(
      expect.objectContaining({ routedTo: billing, reason: 'an invoice question', agentId: billing }),
    );
    expect(contentOf(read.events)).toBe('billing answer');
    expect(message.routing).toEqual({
      routerAgentId: router,
      routedTo: billing,
      routedToName: 'Billing',
      reason: 'an invoice question',
      method: 'model',
    });
  });

  it("falls back to the default candidate when the router's model fails, or names no candidate", async () => {
    upstream.enqueue({ status: 500 });
    const failed = await ask('hello');
    expect(contentOf(failed.read.events)).toBe('support answer');
    expect(failed.message.routing).toEqual(
      expect.objectContaining({ routedTo: support, method: 'default', reason: 'the routing call failed' }),
    );

    upstream.enqueue(routeCall('00000000-0000-4000-8000-000000000000', 'made up'));
    const invalid = await ask('hello again');
    expect(contentOf(invalid.read.events)).toBe('support answer');
    expect(invalid.message.routing).toEqual(expect.objectContaining({ routedTo: support, method: 'default' }));
  });

  it('falls back to the default when the routing call times out', async () => {
    await t
      .http()
      .patch(`/api/agents/${router}`)
      .set(admin.bearer)
      .send({
        config: {
          router: {
            candidates: [
              { agentId: billing, description: 'invoices' },
              { agentId: support, description: 'rest' },
            ],
            defaultAgentId: support,
            timeoutMs: 300,
          },
        },
      })
      .expect(200);
    upstream.enqueue({ ...routeCall(billing, 'slow'), holdMs: 3000 });
    const { read, message } = await ask('slow routing');
    expect(contentOf(read.events)).toBe('support answer');
    expect(message.routing).toEqual(
      expect.objectContaining({ routedTo: support, method: 'default', reason: 'the routing call timed out' }),
    );
  });

  it('routes /v1 completions too (the router is a model like any agent)', async () => {
    const key = (
      await t
        .http()
        .post('/api/api-keys')
        .set(admin.bearer)
        .send({ name: 'r', scopes: ['chat'] })
        .expect(201)
    ).body.key;
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key, maxRetries: 0 });
    upstream.enqueue(routeCall(billing, 'payments'));
    const res = await client.chat.completions.create({
      model: router,
      messages: [{ role: 'user', content: 'refund?' }],
    });
    expect(res.choices[0].message.content).toBe('billing answer');
  });

  it('refuses a router whose candidates are not agents of the team, or whose default is not a candidate', async () => {
    const theirs = (
      await t.http().post('/api/agents').set(outsider.bearer).send({ name: 'X', provider: 'mock' }).expect(201)
    ).body.id;
    const foreign = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({
        name: 'Bad',
        provider: 'mock',
        config: { router: { candidates: [{ agentId: theirs, description: 'x' }], defaultAgentId: theirs } },
      })
      .expect(400);
    expect(foreign.body.details.fieldErrors.map((f: { field: string }) => f.field)).toContain(
      'config.router.candidates.0.agentId',
    );
    const notCandidate = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({
        name: 'Bad2',
        provider: 'mock',
        config: { router: { candidates: [{ agentId: billing, description: 'x' }], defaultAgentId: support } },
      })
      .expect(400);
    expect(notCandidate.body.details.fieldErrors.map((f: { field: string }) => f.field)).toContain(
      'config.router.defaultAgentId',
    );
  });
});
