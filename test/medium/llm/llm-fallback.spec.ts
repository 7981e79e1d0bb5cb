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

describe('LlmService fallback chain', () => {
  const primaryFake = new FakeOpenAiServer();
  const fallbackFake = new FakeGeminiServer();
  let kit: LlmKit;
  let primaryUrl: string;
  let fallbackUrl: string;

  beforeAll(async () => {
    primaryUrl = `${await primaryFake.start()}/v1`;
    fallbackUrl = await fallbackFake.start();
    kit = await createLlmKit({
      LLM_MAX_ATTEMPTS: '2',
      LLM_BREAKER_FAILURE_THRESHOLD: '2',
      LLM_BREAKER_RESET_TIMEOUT_MS: '60000',
    });
  });
  afterAll(async () => {
    await kit.close();
    await primaryFake.stop();
    await fallbackFake.stop();
  });
  beforeEach(() => {
    primaryFake.reset();
    fallbackFake.reset();
  });

  const primary = () => agentFor({ provider: 'openai', model: 'gpt-primary', baseUrl: primaryUrl, secret: 'sk-p' });
  const fallback = () =>
    agentFor({ provider: 'gemini', model: 'gemini-fallback', baseUrl: fallbackUrl, secret: 'gm-f' });
  const run = (chain: ReturnType<typeof primary>[]) =>
    collect(kit.service.stream(chain, USER_MESSAGES, new AbortController().signal));

  it('uses the fallback when the primary fails before its first token, and says so', async () => {
    const [p, f] = [primary(), fallback()];
    primaryFake.setDefault({ status: 500 });
    fallbackFake.setDefault({ deltas: ['from', ' fallback'] });
    const { chunks, error } = await run([p, f]);
    expect(error).toBeNull();
    expect(deltasOf(chunks)).toEqual(['from', ' fallback']);
    expect(primaryFake.requests).toHaveLength(2);
    const statuses = statusesOf(chunks);
    expect(statuses[0]).toMatchObject({ agentId: p.id, model: 'gpt-primary' });
    expect(statuses[statuses.length - 1]).toMatchObject({
      agentId: f.id,
      model: 'gemini-fallback',
      description: expect.stringMatching(/^Falling back to/),
    });
  });

  it('never falls back after the first token: the error is thrown and the partial output stays', async () => {
    primaryFake.setDefault({ deltas: ['partial', ' answer', ' lost'], destroyAfter: 2 });
    const { chunks, error } = await run([primary(), fallback()]);
    expect(deltasOf(chunks)).toEqual(['partial', ' answer']);
    expectAppError(error, ErrorCode.UPSTREAM_FAILED);
    expect(fallbackFake.requests).toHaveLength(0);
    expect(primaryFake.requests).toHaveLength(1);
  });

  it('falls back on a non-retryable failure without retrying it', async () => {
    primaryFake.setDefault({ status: 401 });
    const { text, error } = await run([primary(), fallback()]);
    expect(error).toBeNull();
    expect(text).toBe('Hello, world!');
    expect(primaryFake.requests).toHaveLength(1);
  });

  it('skips an agent whose circuit is open, straight to the fallback', async () => {
    const [p, f] = [primary(), fallback()];
    primaryFake.setDefault({ status: 500 });
    await run([p]); // two failed attempts: the breaker (threshold 2) opens
    primaryFake.reset();
    const { chunks, error } = await run([p, f]);
    expect(error).toBeNull();
    expect(primaryFake.requests).toHaveLength(0);
    expect(statusesOf(chunks).map((s) => s.agentId)).toEqual([f.id]);
  });

  it('answers CIRCUIT_OPEN when every agent left is open', async () => {
    const p = primary();
    primaryFake.setDefault({ status: 500 });
    await run([p]);
    expectAppError((await run([p])).error, ErrorCode.CIRCUIT_OPEN);
  });

  it("tries the chain in order and throws the last agent's error when all fail", async () => {
    const [p, f] = [primary(), fallback()];
    primaryFake.setDefault({ status: 500 });
    fallbackFake.setDefault({ status: 403 });
    const { chunks, error } = await run([p, f]);
    expectAppError(error, ErrorCode.UPSTREAM_AUTH_FAILED);
    expect(statusesOf(chunks).map((s) => s.agentId)).toEqual([p.id, p.id, f.id]);
  });

  it('fails over from an agent with an unknown provider', async () => {
    const broken = { ...primary(), provider: 'nonsense' as never };
    const { text, error } = await run([broken, fallback()]);
    expect(error).toBeNull();
    expect(text).toBe('Hello, world!');
  });

  it('fails with UPSTREAM_FAILED for an empty chain', async () => {
    expectAppError((await run([])).error, ErrorCode.UPSTREAM_FAILED);
  });
});
