import { ErrorCode } from 'src/common/errors/error-code';
import { FakeN8nServer } from 'test/fakes/fake-n8n-server';
import {
  agentFor,
  collect,
  createLlmKit,
  deltasOf,
  expectAppError,
  LlmKit,
  usageOf,
  USER_MESSAGES,
} from 'test/medium/llm/llm-test-kit';

describe('n8n provider (fetch against the fake webhook)', () => {
  const fake = new FakeN8nServer();
  let kit: LlmKit;
  let webhookUrl: string;

  beforeAll(async () => {
    webhookUrl = `${await fake.start()}/webhook/chat`;
    kit = await createLlmKit({ LLM_MAX_ATTEMPTS: '1' });
  });
  afterAll(async () => {
    await kit.close();
    await fake.stop();
  });
  beforeEach(() => fake.reset());

  const n8n = () =>
    agentFor({
      provider: 'n8n',
      model: 'workflow',
      webhookUrl,
      secret: 'n8n-webhook-token-789',
      systemPrompt: 'Be kind.',
      config: { temperature: 0.1 },
    });
  const run = () => collect(kit.service.stream([n8n()], USER_MESSAGES, new AbortController().signal));

  it('posts {messages, system_prompt, config} with Authorization: Bearer', async () => {
    await run();
    const req = fake.lastRequest!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/webhook/chat');
    expect(req.headers.authorization).toBe('Bearer n8n-webhook-token-789');
    expect(req.body).toEqual({
      messages: USER_MESSAGES,
      system_prompt: 'Be kind.',
      config: { model: 'workflow', temperature: 0.1 },
    });
  });

  it('streams n8n begin/item/end objects exactly as sent', async () => {
    fake.enqueue({ format: 'ndjson', deltas: ['One', ' two', ' three'], delayMs: 5 });
    const { chunks, error } = await run();
    expect(error).toBeNull();
    expect(deltasOf(chunks)).toEqual(['One', ' two', ' three']);
    expect(usageOf(chunks)).toEqual({ promptTokens: 7, completionTokens: 3 });
  });

  it('streams SSE data: {"content"} events until [DONE]', async () => {
    fake.enqueue({ format: 'sse', deltas: ['A', 'B', 'C'] });
    const { chunks, error } = await run();
    expect(error).toBeNull();
    expect(deltasOf(chunks)).toEqual(['A', 'B', 'C']);
  });

  it.each([
    ['json', ['Hello world']],
    ['json-output', ['Hello world']],
    ['json-array', ['Hello', ' world']],
  ] as const)('accepts a plain JSON reply (%s)', async (format, expected) => {
    fake.enqueue({ format, deltas: ['Hello', ' world'] });
    const { chunks, error } = await run();
    expect(error).toBeNull();
    expect(deltasOf(chunks)).toEqual(expected);
  });

  it('accepts a text/plain reply as the whole answer', async () => {
    fake.enqueue({ rawBody: 'Just text.\nTwo lines.', headers: { 'content-type': 'text/plain; charset=utf-8' } });
    const { text, error } = await run();
    expect(error).toBeNull();
    expect(text).toBe('Just text.\nTwo lines.');
  });

  it('turns an error object in the stream into UPSTREAM_FAILED after the partial output', async () => {
    fake.enqueue({
      rawBody: '{"type":"begin"}\n{"type":"item","content":"Part"}\n{"type":"error","content":"Workflow crashed"}\n',
      headers: { 'content-type': 'application/json' },
    });
    const { text, error } = await run();
    expect(text).toBe('Part');
    expect(expectAppError(error, ErrorCode.UPSTREAM_FAILED).message).not.toContain('Workflow crashed');
  });

  it('rejects a JSON reply of an unknown shape as UPSTREAM_FAILED', async () => {
    fake.enqueue({ body: { unexpected: true } });
    const { error } = await run();
    expectAppError(error, ErrorCode.UPSTREAM_FAILED);
  });
});
