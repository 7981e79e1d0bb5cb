import { StreamLog } from 'src/streaming/stream-log';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { readSse, SseEvent } from 'test/e2e/chats-sse';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import { createTestApp, TestApp } from 'test/utils/test-app';

/** Tool calls of the model in the chat stream: `tool_call` events, stored with the message, replayed on a resume. */
describe('tool calls in the chat stream', () => {
  const upstream = new FakeOpenAiServer();
  let t: TestApp;
  let admin: Session;
  let user: Session;
  let outsider: Session;

  beforeAll(async () => {
    await upstream.start();
    t = await createTestApp({ env: { ALLOW_PRIVATE_UPSTREAMS: 'true', LLM_MAX_ATTEMPTS: '1' } });
    ({ admin, user, outsider } = await teamMatrix(t));
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200));
    await t?.close();
    await upstream.stop();
  });

  /** The latest `tool_call` event per id: what a client keeps. */
  const latestCalls = (events: SseEvent[]) => {
    const out = new Map<string, Record<string, unknown>>();
    for (const e of events) if (e.event === 'tool_call') out.set(e.data.data.id as string, e.data.data);
    return [...out.values()];
  };

  it('streams tool_call events {id, name, arguments}, stores the calls, and a resume in the middle of the arguments completes them', async () => {
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Tools', provider: 'openai', model: 'gpt-fake', baseUrl: `${upstream.baseUrl}/v1`, apiKey: 'k' })
      .expect(201);
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId: agent.body.id }).expect(201);
    upstream.enqueue({
      deltas: ['Checking'],
      toolCalls: [
        { id: 'call_1', name: 'get_weather', argumentPieces: ['{"ci', 'ty":', '"Paris"}'] },
        { id: 'call_2', name: 'get_time', argumentPieces: ['{}'] },
      ],
    });
    const full = await readSse(`${t.url}/api/chats/${chat.body.id}/messages`, {
      method: 'POST',
      headers: user.bearer,
      body: { content: 'weather?' },
    });
    const messageId = (full.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
    const calls = full.events.filter((e) => e.event === 'tool_call');
    expect(calls.map((e) => e.data.data)).toEqual([
      { id: 'call_1', name: 'get_weather', arguments: '' },
      { id: 'call_1', name: 'get_weather', arguments: '{"ci' },
      { id: 'call_1', name: 'get_weather', arguments: '{"city":' },
      { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_2', name: 'get_time', arguments: '' },
      { id: 'call_2', name: 'get_time', arguments: '{}' },
    ]);
    expect(full.events[full.events.length - 1].event).toBe('done');

    // Resume right after the second piece of call_1's arguments.
    const url = `${t.url}/api/chats/${chat.body.id}/messages/${messageId}/stream`;
    const cut = full.events.indexOf(calls[1]);
    const rest = await readSse(url, { headers: { ...user.bearer, 'Last-Event-ID': full.events[cut].id as string } });
    expect(rest.events.map((e) => e.event)).toEqual(['tool_call', 'tool_call', 'tool_call', 'tool_call', 'done']);
    expect(latestCalls([...full.events.slice(0, cut + 1), ...rest.events])).toEqual([
      { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_2', name: 'get_time', arguments: '{}' },
    ]);

    const detail = await t.http().get(`/api/chats/${chat.body.id}`).set(user.bearer).expect(200);
    const stored = detail.body.messages.find((m: { id: string }) => m.id === messageId);
    expect(stored.content).toBe('Checking');
    expect(stored.toolCalls).toEqual([
      { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_2', name: 'get_time', arguments: '{}' },
    ]);
    await t.http().get(`/api/chats/${chat.body.id}`).set(outsider.bearer).expect(404);
  });

  it('replays stored tool calls when the resume is served from the database', async () => {
    const t2 = await createTestApp({
      env: { ALLOW_PRIVATE_UPSTREAMS: 'true', LLM_MAX_ATTEMPTS: '1', STREAM_RETENTION_SEC: '1' },
    });
    try {
      const { admin: a, user: u } = await teamMatrix(t2);
      const agent = await t2
        .http()
        .post('/api/agents')
        .set(a.bearer)
        .send({ name: 'Tools', provider: 'openai', model: 'gpt-fake', baseUrl: `${upstream.baseUrl}/v1`, apiKey: 'k' })
        .expect(201);
      const chat = await t2.http().post('/api/chats').set(u.bearer).send({ agentId: agent.body.id }).expect(201);
      upstream.enqueue({
        deltas: ['Hi'],
        toolCalls: [{ id: 'call_db', name: 'lookup', argumentPieces: ['{"q":', '"x"}'] }],
      });
      const full = await readSse(`${t2.url}/api/chats/${chat.body.id}/messages`, {
        method: 'POST',
        headers: u.bearer,
        body: { content: 'q' },
      });
      const messageId = (full.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
      const firstCall = full.events.findIndex((e) => e.event === 'tool_call');
      const log = t2.app.get(StreamLog);
      for (let i = 0; i < 100 && (await log.read(`chat:${messageId}`, null)).known; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect((await log.read(`chat:${messageId}`, null)).known).toBe(false); // served from the database now
      const rest = await readSse(`${t2.url}/api/chats/${chat.body.id}/messages/${messageId}/stream`, {
        headers: { ...u.bearer, 'Last-Event-ID': full.events[firstCall].id as string },
      });
      expect(latestCalls(rest.events)).toEqual([{ id: 'call_db', name: 'lookup', arguments: '{"q":"x"}' }]);
      expect(rest.events[rest.events.length - 1].event).toBe('done');
    } finally {
      await t2.close();
    }
  });
});
