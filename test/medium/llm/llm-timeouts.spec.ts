import { ErrorCode } from 'src/common/errors/error-code';
import { FakeGeminiServer } from 'test/fakes/fake-gemini-server';
import { FakeN8nServer } from 'test/fakes/fake-n8n-server';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import {
  agentFor,
  collect,
  createLlmKit,
  deltasOf,
  expectAppError,
  LlmKit,
  USER_MESSAGES,
} from 'test/medium/llm/llm-test-kit';

describe('LlmService timeouts and broken streams', () => {
  const openaiFake = new FakeOpenAiServer();
  const geminiFake = new FakeGeminiServer();
  const n8nFake = new FakeN8nServer('ndjson');
  let kit: LlmKit;
  let openaiUrl: string;
  let geminiUrl: string;
  let n8nUrl: string;

  beforeAll(async () => {
    openaiUrl = `${await openaiFake.start()}/v1`;
    geminiUrl = await geminiFake.start();
    n8nUrl = `${await n8nFake.start()}/webhook/x`;
    // Short enough to keep the suite quick, long enough that a loaded CI machine (two jest workers,
    // PostgreSQL, Redis on two cores) does not turn a slow first request into a connect timeout.
    kit = await createLlmKit({
      LLM_MAX_ATTEMPTS: '2',
      LLM_CONNECT_TIMEOUT_MS: '500',
      LLM_FIRST_TOKEN_TIMEOUT_MS: '800',
      LLM_IDLE_TIMEOUT_MS: '300',
    });
    // Warm each client once: a provider's first request in a process pays lazy initialisation (SDK,
    // undici) that a connect timeout would otherwise catch, and the test would count one request short.
    for (const agent of [openai(), gemini(), n8n()]) expect((await run(agent)).error).toBeNull();
  });
  afterAll(async () => {
    await kit.close();
    await Promise.all([openaiFake.stop(), geminiFake.stop(), n8nFake.stop()]);
  });
  beforeEach(() => [openaiFake, geminiFake, n8nFake].forEach((f) => f.reset()));

  const openai = () => agentFor({ provider: 'openai', baseUrl: openaiUrl, secret: 'sk-t' });
  const gemini = () => agentFor({ provider: 'gemini', baseUrl: geminiUrl, secret: 'gm-t' });
  const n8n = () => agentFor({ provider: 'n8n', webhookUrl: n8nUrl, secret: 'n8n-t' });
  const run = (agent = openai()) => collect(kit.service.stream([agent], USER_MESSAGES, new AbortController().signal));

  it('times out a server that sends nothing (connect timeout), retries, and closes each connection', async () => {
    openaiFake.setDefault({ holdMs: 10_000 });
    const { error } = await run();
    const e = expectAppError(error, ErrorCode.UPSTREAM_TIMEOUT);
    expect(e.options.details).toMatchObject({ phase: 'connect' });
    // The fake records a request once it has read the body, on this same event loop: it can trail the error.
    await openaiFake.waitForRequests(2);
    expect(openaiFake.requests).toHaveLength(2);
    for (const req of openaiFake.requests) {
      await openaiFake.waitForFinish(req);
      expect(req.clientClosed).toBe(true);
    }
  });

  it('times out before the first token when headers arrive but no delta does (Gemini)', async () => {
    geminiFake.setDefault({ firstDeltaDelayMs: 10_000 });
    const { chunks, error } = await run(gemini());
    expect(expectAppError(error, ErrorCode.UPSTREAM_TIMEOUT).options.details).toMatchObject({ phase: 'first_token' });
    expect(deltasOf(chunks)).toEqual([]);
    // The fake records a request once it has read the body, on this same event loop: it can trail the error.
    await geminiFake.waitForRequests(2);
    expect(geminiFake.requests).toHaveLength(2);
    await geminiFake.waitForFinish(geminiFake.requests[1]);
    expect(geminiFake.requests[1].clientClosed).toBe(true);
  });

  it('bounds n8n (headers only with the answer) by the first-token timeout', async () => {
    n8nFake.setDefault({ holdMs: 10_000 });
    const { error } = await run(n8n());
    expect(expectAppError(error, ErrorCode.UPSTREAM_TIMEOUT).options.details).toMatchObject({ phase: 'first_token' });
  });

  it.each([
    ['openai', () => openai(), openaiFake],
    ['gemini', () => gemini(), geminiFake],
    ['n8n', () => n8n(), n8nFake],
  ] as const)(
    'stall mid-stream → idle timeout error after the partial deltas were yielded (%s)',
    async (_name, agent, fake) => {
      fake.setDefault({ deltas: ['one', ' two', ' three', ' four'], stallAfter: 2 });
      const { chunks, error } = await run(agent());
      expect(deltasOf(chunks)).toEqual(['one', ' two']);
      expect(expectAppError(error, ErrorCode.UPSTREAM_TIMEOUT).options.details).toMatchObject({ phase: 'idle' });
      // The fake records a request once it has read the body, on this same event loop: it can trail the error.
      await fake.waitForRequests(1);
      expect(fake.requests).toHaveLength(1);
      await fake.waitForFinish(fake.requests[0]);
      expect(fake.requests[0].clientClosed).toBe(true);
    },
  );

  it('waits as long as deltas keep coming (the idle timeout is per gap, not per reply)', async () => {
    openaiFake.setDefault({ deltas: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], delayMs: 60 });
    const { text, error } = await run();
    expect(error).toBeNull();
    expect(text).toBe('abcdefgh'); // 8 × 60 ms > the 300 ms idle timeout, but no single gap is
  });

  it.each([
    ['openai', () => openai(), openaiFake],
    ['gemini', () => gemini(), geminiFake],
    ['n8n', () => n8n(), n8nFake],
  ] as const)(
    'malformed chunk mid-stream → UPSTREAM_FAILED after the partial deltas (%s)',
    async (_name, agent, fake) => {
      fake.setDefault({ deltas: ['good', ' still good', ' never'], malformedAfter: 2 });
      const { chunks, error } = await run(agent());
      expect(deltasOf(chunks)).toEqual(['good', ' still good']);
      expect(expectAppError(error, ErrorCode.UPSTREAM_FAILED).message).toBe(
        'The AI provider sent a response that could not be understood.',
      );
      // The fake records a request once it has read the body, on this same event loop: it can trail the error.
      await fake.waitForRequests(1);
      expect(fake.requests).toHaveLength(1);
    },
  );

  it('malformed first chunk → UPSTREAM_FAILED, not retried', async () => {
    openaiFake.setDefault({ malformedAfter: 0 });
    const { error } = await run();
    expect(expectAppError(error, ErrorCode.UPSTREAM_FAILED).message).toBe(
      'The AI provider sent a response that could not be understood.',
    );
    // The fake records a request once it has read the body, on this same event loop: it can trail the error.
    await openaiFake.waitForRequests(1);
    expect(openaiFake.requests).toHaveLength(1);
  });

  it.each([
    ['openai', () => openai(), openaiFake],
    ['gemini', () => gemini(), geminiFake],
    ['n8n', () => n8n(), n8nFake],
  ] as const)(
    'connection reset mid-stream → UPSTREAM_FAILED after the partial deltas, no retry (%s)',
    async (_name, agent, fake) => {
      fake.setDefault({ deltas: ['alpha', ' beta', ' gamma'], destroyAfter: 2 });
      const { chunks, error } = await run(agent());
      expect(deltasOf(chunks)).toEqual(['alpha', ' beta']);
      expectAppError(error, ErrorCode.UPSTREAM_FAILED);
      // The fake records a request once it has read the body, on this same event loop: it can trail the error.
      await fake.waitForRequests(1);
      expect(fake.requests).toHaveLength(1);
    },
  );

  it('connection reset before the first delta is retried', async () => {
    openaiFake.enqueue({ destroyAfter: 0 }, { deltas: ['recovered'] });
    const { text, error } = await run();
    expect(error).toBeNull();
    expect(text).toBe('recovered');
    // The fake records a request once it has read the body, on this same event loop: it can trail the error.
    await openaiFake.waitForRequests(2);
    expect(openaiFake.requests).toHaveLength(2);
  });
});
