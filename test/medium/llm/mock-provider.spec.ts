import { ErrorCode } from 'src/common/errors/error-code';
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

describe('the mock provider through LlmService (what other modules test against)', () => {
  let kit: LlmKit;
  beforeAll(async () => {
    kit = await createLlmKit({ MOCK_LLM_DELTAS: '8', LLM_FIRST_TOKEN_TIMEOUT_MS: '200', LLM_IDLE_TIMEOUT_MS: '100' });
  });
  afterAll(() => kit.close());

  const run = (config: Record<string, unknown>, chain = [agentFor({ provider: 'mock', model: 'mock-1', config })]) =>
    collect(kit.service.stream(chain, USER_MESSAGES, new AbortController().signal));

  it('streams MOCK_LLM_DELTAS deterministic deltas and usage', async () => {
    const a = await run({});
    const b = await run({});
    expect(deltasOf(a.chunks)).toHaveLength(8);
    expect(a.text).toBe(b.text);
    expect(usageOf(a.chunks)).toEqual({ promptTokens: expect.any(Number), completionTokens: expect.any(Number) });
  });

  it('mockError + mockErrorTimes exercise the retry path', async () => {
    const { text, error } = await run({ mockError: 'server', mockErrorTimes: 2 });
    expect(error).toBeNull();
    expect(text.length).toBeGreaterThan(0);
  });

  it("mockError 'timeout' trips the first-token timeout", async () => {
    expectAppError((await run({ mockError: 'timeout' })).error, ErrorCode.UPSTREAM_TIMEOUT);
  });

  it('mockStallAfter trips the idle timeout after partial output', async () => {
    const { chunks, error } = await run({ mockStallAfter: 3 });
    expect(deltasOf(chunks)).toHaveLength(3);
    expectAppError(error, ErrorCode.UPSTREAM_TIMEOUT);
  });

  it('mockFailAfter breaks the stream after partial output, with no fallback', async () => {
    const chain = [
      agentFor({ provider: 'mock', config: { mockFailAfter: 2 } }),
      agentFor({ provider: 'mock', config: {} }),
    ];
    const { chunks, error } = await run({}, chain);
    expect(deltasOf(chunks)).toHaveLength(2);
    expectAppError(error, ErrorCode.UPSTREAM_FAILED);
  });

  it("mockError 'auth' on the primary falls back to the next agent", async () => {
    const chain = [
      agentFor({ provider: 'mock', config: { mockError: 'auth' } }),
      agentFor({ provider: 'mock', config: { mockContent: 'Fallback here.' } }),
    ];
    const { text, error } = await run({}, chain);
    expect(error).toBeNull();
    expect(text).toBe('Fallback here.');
  });
});
