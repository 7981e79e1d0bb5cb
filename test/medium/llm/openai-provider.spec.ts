import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import {
  agentFor,
  collect,
  createLlmKit,
  deltasOf,
  LlmKit,
  statusesOf,
  usageOf,
  USER_MESSAGES,
} from 'test/medium/llm/llm-test-kit';

describe('OpenAI-compatible provider (official SDK against the fake server)', () => {
  const fake = new FakeOpenAiServer();
  let kit: LlmKit;
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = `${await fake.start()}/v1`;
    kit = await createLlmKit();
  });
  afterAll(async () => {
    await kit.close();
    await fake.stop();
  });
  beforeEach(() => fake.reset());

  const openai = () =>
    agentFor({
      provider: 'openai',
      model: 'gpt-4o-mini',
      baseUrl,
      secret: 'sk-test-secret-456',
      systemPrompt: 'You are terse.',
      config: { temperature: 0.5, maxTokens: 100 },
    });

  it('streams the reply exactly as sent, chunk by chunk', async () => {
    fake.enqueue({ deltas: ['Rome', ' is', ' the', ' capital', '.', '\n\n', ' ünïcødé ✓'] });
    const { chunks, error } = await collect(
      kit.service.stream([openai()], USER_MESSAGES, new AbortController().signal),
    );
    expect(error).toBeNull();
    expect(deltasOf(chunks)).toEqual(['Rome', ' is', ' the', ' capital', '.', '\n\n', ' ünïcødé ✓']);
  });

  it('reports usage from the final usage chunk (include_usage)', async () => {
    fake.enqueue({ deltas: ['x'], usage: { promptTokens: 21, completionTokens: 9 } });
    const { chunks } = await collect(kit.service.stream([openai()], USER_MESSAGES, new AbortController().signal));
    expect(usageOf(chunks)).toEqual({ promptTokens: 21, completionTokens: 9 });
    expect(fake.lastRequest!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('sends the key as Authorization: Bearer to {baseURL}/chat/completions', async () => {
    await collect(kit.service.stream([openai()], USER_MESSAGES, new AbortController().signal));
    expect(fake.lastRequest!.url).toBe('/v1/chat/completions');
    expect(fake.lastRequest!.headers.authorization).toBe('Bearer sk-test-secret-456');
  });

  it('forwards the system prompt first, then the history, with temperature and max_tokens', async () => {
    await collect(kit.service.stream([openai()], USER_MESSAGES, new AbortController().signal));
    expect(fake.lastRequest!.body).toMatchObject({
      model: 'gpt-4o-mini',
      temperature: 0.5,
      max_tokens: 100,
      messages: [{ role: 'system', content: 'You are terse.' }, ...USER_MESSAGES],
    });
  });

  it('announces the agent and model that serve before the first delta', async () => {
    const agent = openai();
    const { chunks } = await collect(kit.service.stream([agent], USER_MESSAGES, new AbortController().signal));
    expect(chunks[0]).toEqual({
      type: 'status',
      description: expect.any(String),
      agentId: agent.id,
      model: 'gpt-4o-mini',
    });
    expect(statusesOf(chunks)).toHaveLength(1);
  });

  it('complete() returns the whole reply, usage and the serving agent', async () => {
    fake.enqueue({ deltas: ['Hel', 'lo'], usage: { promptTokens: 3, completionTokens: 2 } });
    const agent = openai();
    const result = await kit.service.complete([agent], USER_MESSAGES, new AbortController().signal);
    expect(result).toEqual({
      content: 'Hello',
      usage: { promptTokens: 3, completionTokens: 2 },
      agentId: agent.id,
      model: 'gpt-4o-mini',
    });
  });
});
