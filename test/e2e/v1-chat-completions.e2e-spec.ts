import { ChatOpenAI } from '@langchain/openai';
import OpenAI, { NotFoundError } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { FakeGeminiServer } from 'test/fakes/fake-gemini-server';
import { FakeN8nServer } from 'test/fakes/fake-n8n-server';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import { createTestApp, TestApp } from 'test/utils/test-app';

/**
 * The OpenAI-compatible API driven by real clients (the official `openai` SDK and LangChain's `ChatOpenAI`), configured only with `baseURL: <server>/v1` and a team key, against team
 * agents served by the fake OpenAI and Gemini upstreams.
 */
describe('/v1 chat completions with real OpenAI clients', () => {
  const upstream = new FakeOpenAiServer();
  const gemini = new FakeGeminiServer();
  const n8n = new FakeN8nServer('json');
  let t: TestApp;
  let admin: Session;
  let outsider: Session;
  let key: string;
  let client: OpenAI;
  let openAiAgent: string;
  let geminiAgent: string;

  const weatherTool = {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      description: 'Weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  };

  beforeAll(async () => {
    await upstream.start();
    await gemini.start();
    await n8n.start();
    t = await createTestApp({
      env: {
        ALLOW_PRIVATE_UPSTREAMS: 'true',
        LLM_MAX_ATTEMPTS: '2',
        LLM_RETRY_BASE_MS: '10',
        LLM_BREAKER_FAILURE_THRESHOLD: '1000',
      },
    });
    ({ admin, outsider } = await teamMatrix(t));
    key = (
      await t
        .http()
        .post('/api/api-keys')
        .set(admin.bearer)
        .send({ name: 'sdk', scopes: ['chat'] })
        .expect(201)
    ).body.key;
    client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key, maxRetries: 0 });
    geminiAgent = (
      await t
        .http()
        .post('/api/agents')
        .set(admin.bearer)
        .send({ name: 'Gemini', provider: 'gemini', model: 'gemini-fake', baseUrl: gemini.baseUrl, apiKey: 'gm-key' })
        .expect(201)
    ).body.id;
    openAiAgent = (
      await t
        .http()
        .post('/api/agents')
        .set(admin.bearer)
        .send({
          name: 'GPT',
          provider: 'openai',
          model: 'gpt-fake',
          baseUrl: `${upstream.baseUrl}/v1`,
          apiKey: 'sk-up',
          systemPrompt: 'Be brief.',
        })
        .expect(201)
    ).body.id;
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200));
    await t?.close();
    await upstream.stop();
    await gemini.stop();
    await n8n.stop();
  });
  beforeEach(() => {
    upstream.reset();
    gemini.reset();
  });

  it("lists the team's active agents as models (id = agent id), not another team's", async () => {
    const inactive = (
      await t
        .http()
        .post('/api/agents')
        .set(admin.bearer)
        .send({ name: 'Off', provider: 'mock', isActive: false })
        .expect(201)
    ).body.id;
    const theirs = (
      await t.http().post('/api/agents').set(outsider.bearer).send({ name: 'Theirs', provider: 'mock' }).expect(201)
    ).body.id;
    const ids: string[] = [];
    for await (const m of client.models.list()) {
      expect(m).toEqual(expect.objectContaining({ object: 'model', owned_by: 'team', created: expect.any(Number) }));
      ids.push(m.id);
    }
    expect(ids).toEqual(expect.arrayContaining([openAiAgent, geminiAgent]));
    expect(ids).not.toContain(inactive);
    expect(ids).not.toContain(theirs);
    expect((await client.models.retrieve(openAiAgent)).id).toBe(openAiAgent);
    await expect(client.models.retrieve(theirs)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('answers a non-streamed completion and passes temperature, max_completion_tokens, stop and the history upstream', async () => {
    upstream.enqueue({ deltas: ['Hi', ' there'], usage: { promptTokens: 11, completionTokens: 2 } });
    const res = await client.chat.completions.create({
      model: openAiAgent,
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'hello' },
      ],
      temperature: 0.3,
      max_completion_tokens: 50,
      stop: ['END'],
      user: 'end-user-1',
    });
    expect(res.object).toBe('chat.completion');
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.model).toBe(openAiAgent);
    expect(res.choices[0]).toEqual(
      expect.objectContaining({
        index: 0,
        finish_reason: 'stop',
        message: expect.objectContaining({ role: 'assistant', content: 'Hi there' }),
      }),
    );
    expect(res.usage).toEqual({ prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 });
    const sent = upstream.lastRequest!.body;
    expect(sent).toEqual(
      expect.objectContaining({ model: 'gpt-fake', temperature: 0.3, max_tokens: 50, stop: ['END'] }),
    );
    expect(sent.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'hello' },
    ]);
    expect(upstream.lastRequest!.headers.authorization).toBe('Bearer sk-up');
  });

  it('streams OpenAI chunks (role first, deltas, finish_reason, usage with include_usage) to the SDK', async () => {
    upstream.enqueue({ deltas: ['one', ' two', ' three'], usage: { promptTokens: 5, completionTokens: 3 } });
    const stream = await client.chat.completions.create({
      model: openAiAgent,
      messages: [{ role: 'user', content: 'count' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(
      chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id && c.model === openAiAgent),
    ).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('one two three');
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finish.map((c) => c.choices[0].finish_reason)).toEqual(['stop']);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('writes the exact wire format: data lines, no usage field without include_usage, data: [DONE] last', async () => {
    upstream.enqueue({ deltas: ['a', 'b'] });
    const res = await t
      .http()
      .post('/v1/chat/completions')
      .set({ Authorization: `Bearer ${key}` })
      .send({ model: openAiAgent, messages: [{ role: 'user', content: 'x' }], stream: true })
      .buffer(true)
      .parse((r, cb) => {
        let text = '';
        r.on('data', (d: Buffer) => (text += d.toString()));
        r.on('end', () => cb(null, text));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const frames = (res.body as string).split('\n\n').filter(Boolean);
    expect(frames[frames.length - 1]).toBe('data: [DONE]');
    const objects = frames.slice(0, -1).map((f) => JSON.parse(f.replace(/^data: /, '')));
    expect(objects.every((o) => !('usage' in o))).toBe(true);
    expect(objects[objects.length - 1].choices[0]).toEqual({
      index: 0,
      delta: {},
      logprobs: null,
      finish_reason: 'stop',
    });
  });

  it('round-trips a tool call: definitions go out, tool_calls deltas come back, the tool result goes upstream', async () => {
    upstream.enqueue({
      deltas: [],
      toolCalls: [{ id: 'call_abc', name: 'get_weather', argumentPieces: ['{"ci', 'ty":"Pa', 'ris"}'] }],
    });
    const stream = await client.chat.completions.create({
      model: openAiAgent,
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: [weatherTool],
      tool_choice: 'auto',
      stream: true,
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const out = upstream.lastRequest!.body;
    expect(out.tools).toEqual([weatherTool]);
    expect(out.tool_choice).toBe('auto');
    const pieces = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    expect(pieces[0]).toEqual({
      index: 0,
      id: 'call_abc',
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    expect(pieces.map((p) => p.function?.arguments ?? '').join('')).toBe('{"city":"Paris"}');
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('tool_calls');

    // The client ran the tool and sends the result back.
    upstream.enqueue({ deltas: ['Sunny in Paris'] });
    const res = await client.chat.completions.create({
      model: openAiAgent,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_abc', content: '{"sky":"sunny"}' },
      ],
    });
    expect(res.choices[0].message.content).toBe('Sunny in Paris');
    expect(upstream.lastRequest!.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_abc', content: '{"sky":"sunny"}' },
    ]);
  });

  it('passes Gemini function calls back as OpenAI tool_calls (non-streamed) and sends tool results as functionResponse', async () => {
    gemini.enqueue({ deltas: [], toolCalls: [{ id: 'x', name: 'get_weather', argumentPieces: ['{"city":"Rome"}'] }] });
    const res = await client.chat.completions.create({
      model: geminiAgent,
      messages: [{ role: 'user', content: 'Rome?' }],
      tools: [weatherTool],
      tool_choice: 'required',
    });
    const body = gemini.lastRequest!.body;
    expect(body.tools[0].functionDeclarations[0]).toEqual(
      expect.objectContaining({ name: 'get_weather', description: 'Weather in a city' }),
    );
    expect(body.toolConfig.functionCallingConfig.mode).toBe('ANY');
    expect(res.choices[0].finish_reason).toBe('tool_calls');
    const call = res.choices[0].message.tool_calls![0] as {
      id: string;
      type: string;
      function: { name: string; arguments: string };
    };
    expect(call.type).toBe('function');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Rome' });

    gemini.enqueue({ deltas: ['Rainy'] });
    await client.chat.completions.create({
      model: geminiAgent,
      messages: [
        { role: 'user', content: 'Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: call.id, type: 'function', function: { name: 'get_weather', arguments: call.function.arguments } },
          ],
        },
        { role: 'tool', tool_call_id: call.id, content: '{"sky":"rain"}' },
      ],
    });
    const contents = gemini.lastRequest!.body.contents;
    expect(contents[1].parts[0].functionCall).toEqual(
      expect.objectContaining({ name: 'get_weather', args: { city: 'Rome' } }),
    );
    expect(contents[2].parts[0].functionResponse).toEqual(
      expect.objectContaining({ name: 'get_weather', response: { sky: 'rain' } }),
    );
  });

  it('passes the tool calls an n8n webhook sends through as OpenAI tool_calls, and the tools to the webhook', async () => {
    const agent = (
      await t
        .http()
        .post('/api/agents')
        .set(admin.bearer)
        .send({ name: 'Flow', provider: 'n8n', model: 'flow', webhookUrl: `${n8n.baseUrl}/webhook/x` })
        .expect(201)
    ).body.id;
    n8n.enqueue({
      body: {
        output: 'Looking',
        tool_calls: [
          { id: 'call_n8n', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lima"}' } },
        ],
      },
    });
    const res = await client.chat.completions.create({
      model: agent,
      messages: [{ role: 'user', content: 'Lima?' }],
      tools: [weatherTool],
    });
    expect(n8n.lastRequest!.body.tools).toEqual([
      { name: 'get_weather', description: 'Weather in a city', parameters: weatherTool.function.parameters },
    ]);
    expect(res.choices[0].finish_reason).toBe('tool_calls');
    expect(res.choices[0].message.content).toBe('Looking');
    expect(res.choices[0].message.tool_calls).toEqual([
      { id: 'call_n8n', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lima"}' } },
    ]);
  });

  it("runs on the agent's fallback chain, and answers OpenAI errors: 503 when every agent failed", async () => {
    const primary = (
      await t
        .http()
        .post('/api/agents')
        .set(admin.bearer)
        .send({
          name: 'Primary',
          provider: 'openai',
          model: 'gpt-p',
          baseUrl: `${upstream.baseUrl}/v1`,
          apiKey: 'k',
          fallbackAgentId: geminiAgent,
        })
        .expect(201)
    ).body.id;
    upstream.enqueue({ status: 401 });
    gemini.enqueue({ deltas: ['from', ' fallback'] });
    const ok = await client.chat.completions.create({ model: primary, messages: [{ role: 'user', content: 'x' }] });
    expect(ok.choices[0].message.content).toBe('from fallback');

    upstream.enqueue({ status: 500 }, { status: 500 });
    const res = await t
      .http()
      .post('/v1/chat/completions')
      .set({ Authorization: `Bearer ${key}` })
      .send({ model: openAiAgent, messages: [{ role: 'user', content: 'x' }], stream: true });
    expect(res.status).toBe(503);
    expect(res.body.error).toEqual(
      expect.objectContaining({ type: 'server_error', code: 'upstream_failed', param: null }),
    );
  });

  it("answers 404 model_not_found for another team's agent and an unknown model; 400 with param for a bad body", async () => {
    const theirs = (
      await t.http().post('/api/agents').set(outsider.bearer).send({ name: 'Theirs2', provider: 'mock' }).expect(201)
    ).body.id;
    for (const model of [theirs, 'gpt-4o', '00000000-0000-4000-8000-000000000000']) {
      const err = await client.chat.completions
        .create({ model, messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as NotFoundError).code).toBe('model_not_found');
      expect((err as NotFoundError).param).toBe('model');
    }
    const bad = await t
      .http()
      .post('/v1/chat/completions')
      .set({ Authorization: `Bearer ${key}` })
      .send({ model: openAiAgent, messages: [{ role: 'wizard', content: 'x' }] })
      .expect(400);
    expect(bad.body).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: 'messages[0].role', code: null },
    });
    const noMessages = await t
      .http()
      .post('/v1/chat/completions')
      .set({ Authorization: `Bearer ${key}` })
      .send({ model: openAiAgent })
      .expect(400);
    expect(noMessages.body.error.param).toBe('messages');
    const badJson = await t
      .http()
      .post('/v1/chat/completions')
      .set({ Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' })
      .send('{"model":');
    expect(badJson.status).toBe(400);
    const temp = await t
      .http()
      .post('/v1/chat/completions')
      .set({ Authorization: `Bearer ${key}` })
      .send({ model: openAiAgent, messages: [{ role: 'user', content: 'x' }], temperature: 7 })
      .expect(400);
    expect(temp.body.error.param).toBe('temperature');
  });

  it('stops the upstream call when the client disconnects mid-stream', async () => {
    upstream.enqueue({ deltas: ['a', 'b', 'c', 'd', 'e', 'f'], delayMs: 200 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: openAiAgent, messages: [{ role: 'user', content: 'long' }], stream: true },
      { signal: controller.signal },
    );
    let seen = 0;
    // The SDK ends the iteration (or throws) when its request is aborted; either way the client is gone.
    await (async () => {
      for await (const c of stream) {
        if (c.choices[0]?.delta?.content) seen++;
        if (seen === 1) controller.abort();
      }
    })().catch(() => undefined);
    expect(seen).toBe(1);
    const rec = upstream.lastRequest!;
    await upstream.waitForFinish(rec, 3000);
    expect(rec.clientClosed).toBe(true);
  });

  it('works with LangChain ChatOpenAI: stream, and invoke with a bound tool', async () => {
    const llm = new ChatOpenAI({
      model: openAiAgent,
      apiKey: key,
      configuration: { baseURL: `${t.url}/v1` },
      maxRetries: 0,
      streamUsage: true,
    });
    upstream.enqueue({ deltas: ['Hello', ' from', ' LangChain'], usage: { promptTokens: 4, completionTokens: 3 } });
    let text = '';
    let usage: { input_tokens: number } | undefined;
    for await (const chunk of await llm.stream('hi')) {
      text += typeof chunk.content === 'string' ? chunk.content : '';
      usage = chunk.usage_metadata ?? usage;
    }
    expect(text).toBe('Hello from LangChain');
    expect(usage?.input_tokens).toBe(4);

    upstream.enqueue({
      deltas: [],
      toolCalls: [{ id: 'call_lc', name: 'get_weather', argumentPieces: ['{"city":', '"Oslo"}'] }],
    });
    const msg = await llm.bindTools([weatherTool]).invoke('weather in Oslo?');
    expect(msg.tool_calls).toEqual([
      expect.objectContaining({ id: 'call_lc', name: 'get_weather', args: { city: 'Oslo' } }),
    ]);
    expect(upstream.lastRequest!.body.tools).toEqual([weatherTool]);
  });
});
