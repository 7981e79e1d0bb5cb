import { ErrorCode } from 'src/common/errors/error-code';
import { FakeGeminiServer } from 'test/fakes/fake-gemini-server';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import {
  agentFor,
  collect,
  createLlmKit,
  deltasOf,
  expectAppError,
  LlmKit,
  statusesOf,
  USER_MESSAGES,
} from 'test/medium/llm/llm-test-kit';

describe('LlmService retries before the first delta', () => {
  const openaiFake = new FakeOpenAiServer();
  const geminiFake = new FakeGeminiServer();
  let kit: LlmKit;
  let openaiUrl: string;
  let geminiUrl: string;

  beforeAll(async () => {
    openaiUrl = `${await openaiFake.start()}/v1`;
    geminiUrl = await geminiFake.start();
    kit = await createLlmKit({ LLM_MAX_ATTEMPTS: '3', LLM_RETRY_BASE_MS: '10' });
  });
  afterAll(async () => {
    await kit.close();
    await openaiFake.stop();
    await geminiFake.stop();
  });
  beforeEach(() => {
    openaiFake.reset();
    geminiFake.reset();
  });

  const openai = () => agentFor({ provider: 'openai', baseUrl: openaiUrl, secret: 'sk-retry' });
  const gemini = () => agentFor({ provider: 'gemini', baseUrl: geminiUrl, secret: 'gm-retry' });
  const run = (agent = openai()) => collect(kit.service.stream([agent], USER_MESSAGES, new AbortController().signal));

  it('retries a 500 up to maxAttempts, then fails with UPSTREAM_FAILED', async () => {
    openaiFake.setDefault({ status: 500 });
    const { chunks, error } = await run();
    expect(expectAppError(error, ErrorCode.UPSTREAM_FAILED).message).toBe('The AI provider failed (HTTP 500).');
    expect(openaiFake.requests).toHaveLength(3);
    expect(statusesOf(chunks).map((s) => s.description)).toEqual([
      expect.stringMatching(/^Asking/),
      expect.stringMatching(/^Retrying .*attempt 2 of 3/),
      expect.stringMatching(/^Retrying .*attempt 3 of 3/),
    ]);
  });

  it('backs off exponentially between attempts (retryBaseMs × 1, 2)', async () => {
    const slow = await createLlmKit({ LLM_MAX_ATTEMPTS: '3', LLM_RETRY_BASE_MS: '100' });
    try {
      openaiFake.setDefault({ status: 503 });
      await collect(slow.service.stream([openai()], USER_MESSAGES, new AbortController().signal));
      const [a, b, c] = openaiFake.requests.map((r) => r.receivedAt);
      expect(b - a).toBeGreaterThanOrEqual(90);
      expect(c - b).toBeGreaterThanOrEqual(190);
    } finally {
      await slow.close();
    }
  });

  it('succeeds when a retry succeeds, with only the successful deltas', async () => {
    openaiFake.enqueue({ status: 502 }, { status: 500 }, { deltas: ['ok'] });
    const { chunks, error } = await run();
    expect(error).toBeNull();
    expect(deltasOf(chunks)).toEqual(['ok']);
    expect(openaiFake.requests).toHaveLength(3);
  });

  it('honours Retry-After on 429 (OpenAI)', async () => {
    openaiFake.enqueue({ status: 429, headers: { 'retry-after': '1' } }, { deltas: ['late'] });
    const { text, error } = await run();
    expect(error).toBeNull();
    expect(text).toBe('late');
    const [first, second] = openaiFake.requests;
    expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(950);
  });

  it('honours Retry-After on 429 (Gemini, header read from the raw response)', async () => {
    geminiFake.enqueue({ status: 429, headers: { 'retry-after': '1' } }, { deltas: ['late'] });
    const { text, error } = await run(gemini());
    expect(error).toBeNull();
    expect(text).toBe('late');
    const [first, second] = geminiFake.requests;
    expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(950);
  });

  it('does not wait for a Retry-After beyond the cap: UPSTREAM_RATE_LIMITED carries retryAfter', async () => {
    openaiFake.setDefault({ status: 429, headers: { 'retry-after': '120' } });
    const { error } = await run();
    expect(expectAppError(error, ErrorCode.UPSTREAM_RATE_LIMITED).options.retryAfter).toBe(120);
    expect(openaiFake.requests).toHaveLength(1);
  });

  it('retries a 429 without Retry-After with the normal backoff', async () => {
    openaiFake.setDefault({ status: 429 });
    const { error } = await run();
    expectAppError(error, ErrorCode.UPSTREAM_RATE_LIMITED);
    expect(openaiFake.requests).toHaveLength(3);
  });

  it.each([
    [401, ErrorCode.UPSTREAM_AUTH_FAILED],
    [403, ErrorCode.UPSTREAM_AUTH_FAILED],
    [400, ErrorCode.UPSTREAM_FAILED],
    [404, ErrorCode.UPSTREAM_FAILED],
  ])('does not retry a %i (maps to %s)', async (status, code) => {
    openaiFake.setDefault({ status });
    const { error } = await run();
    expectAppError(error, code);
    expect(openaiFake.requests).toHaveLength(1);
  });

  it('maps Gemini 401/403 to UPSTREAM_AUTH_FAILED without retrying', async () => {
    geminiFake.setDefault({ status: 403 });
    const { error } = await run(gemini());
    expectAppError(error, ErrorCode.UPSTREAM_AUTH_FAILED);
    expect(geminiFake.requests).toHaveLength(1);
  });

  it('retries a refused connection, then fails with UPSTREAM_FAILED', async () => {
    const closed = new FakeOpenAiServer();
    const url = `${await closed.start()}/v1`;
    await closed.stop();
    const { chunks, error } = await run(agentFor({ provider: 'openai', baseUrl: url, secret: 'k' }));
    expect(expectAppError(error, ErrorCode.UPSTREAM_FAILED).message).toBe('The connection to the AI provider failed.');
    expect(statusesOf(chunks)).toHaveLength(3);
  });
});
