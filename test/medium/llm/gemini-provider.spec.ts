import { FakeGeminiServer } from 'test/fakes/fake-gemini-server';
import {
  agentFor,
  collect,
  createLlmKit,
  deltasOf,
  LlmKit,
  usageOf,
  USER_MESSAGES,
} from 'test/medium/llm/llm-test-kit';

describe('Gemini provider (official SDK against the fake server)', () => {
  const fake = new FakeGeminiServer();
  let kit: LlmKit;
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = await fake.start();
    kit = await createLlmKit();
  });
  afterAll(async () => {
    await kit.close();
    await fake.stop();
  });
  beforeEach(() => fake.reset());

  const gemini = () =>
    agentFor({
      provider: 'gemini',
      model: 'gemini-2.5-flash',
      baseUrl,
      secret: 'gm-secret-key-123',
      systemPrompt: 'Be brief.',
      config: { temperature: 0.2, maxTokens: 64 },
    });

  it('streams the reply exactly as sent, chunk by chunk', async () => {
    fake.enqueue({ deltas: ['Rome', ' is', ' the', ' capital', '.'] });
    const { chunks, error } = await collect(
      kit.service.stream([gemini()], USER_MESSAGES, new AbortController().signal),
    );
    expect(error).toBeNull();
    expect(deltasOf(chunks)).toEqual(['Rome', ' is', ' the', ' capital', '.']);
  });

  it('reports usage from usageMetadata', async () => {
    fake.enqueue({ deltas: ['a', 'b'], usage: { promptTokens: 11, completionTokens: 3 } });
    const { chunks } = await collect(kit.service.stream([gemini()], USER_MESSAGES, new AbortController().signal));
    expect(usageOf(chunks)).toEqual({ promptTokens: 11, completionTokens: 3 });
  });

  it('calls streamGenerateContent with alt=sse and the key in x-goog-api-key', async () => {
    await collect(kit.service.stream([gemini()], USER_MESSAGES, new AbortController().signal));
    const req = fake.lastRequest!;
    expect(req.url).toBe('/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(req.headers['x-goog-api-key']).toBe('gm-secret-key-123');
    expect(req.headers.authorization).toBeUndefined();
  });

  it('forwards the system prompt as systemInstruction and the history with assistant as model', async () => {
    await collect(
      kit.service.stream(
        [gemini()],
        [{ role: 'system', content: 'Answer in English.' }, ...USER_MESSAGES],
        new AbortController().signal,
      ),
    );
    const body = fake.lastRequest!.body;
    expect(body.systemInstruction.parts[0].text).toBe('Be brief.\n\nAnswer in English.');
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'What is the capital of France?' }] },
      { role: 'model', parts: [{ text: 'Paris.' }] },
      { role: 'user', parts: [{ text: 'And of Italy?' }] },
    ]);
    expect(body.generationConfig).toMatchObject({ temperature: 0.2, maxOutputTokens: 64 });
  });

  it.each([
    ['auto', { mode: 'AUTO' }],
    ['none', { mode: 'NONE' }],
    ['required', { mode: 'ANY' }],
    [{ name: 'get_weather' }, { mode: 'ANY', allowedFunctionNames: ['get_weather'] }],
  ] as const)('sends tools as functionDeclarations and tool choice %j as %j', async (toolChoice, config) => {
    const parameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    await collect(
      kit.service.stream([gemini()], USER_MESSAGES, new AbortController().signal, {
        tools: [{ name: 'get_weather', description: 'Weather of a city', parameters }],
        toolChoice,
      }),
    );
    const body = fake.lastRequest!.body;
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          { name: 'get_weather', description: 'Weather of a city', parametersJsonSchema: parameters },
        ],
      },
    ]);
    expect(body.toolConfig).toEqual({ functionCallingConfig: config });
  });
});
