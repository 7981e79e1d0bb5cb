import { loadConfig } from 'src/config/env';
import { LlmAgentConfig, LlmChunk } from 'src/llm/llm.types';
import { UpstreamError } from 'src/llm/llm.errors';
import { mockAnswer, MockProvider } from 'src/llm/providers/mock.provider';

const config = loadConfig({
  NODE_ENV: 'test',
  DATA_DIR: '/tmp/mock-provider-spec',
  JWT_SECRET: 'x'.repeat(40),
  ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
  MOCK_LLM_DELTAS: '6',
  MOCK_LLM_DELAY_MS: '0',
});
const messages = [{ role: 'user' as const, content: 'How do photosynthesis and respiration differ in plants?' }];
const agent = (cfg: LlmAgentConfig['config'] = {}, id = 'mock-1'): LlmAgentConfig => ({
  id,
  name: 'Mock',
  provider: 'mock',
  model: 'mock-1',
  config: cfg,
});

async function drain(it: AsyncIterable<LlmChunk>): Promise<{ chunks: LlmChunk[]; error: unknown }> {
  const chunks: LlmChunk[] = [];
  try {
    for await (const c of it) chunks.push(c);
    return { chunks, error: null };
  } catch (error) {
    return { chunks, error };
  }
}
const deltas = (chunks: LlmChunk[]) => chunks.flatMap((c) => (c.type === 'delta' ? [c.content] : []));

describe('MockProvider', () => {
  const provider = new MockProvider(config);
  const signal = () => new AbortController().signal;

  it('answers deterministically from the last user message, in mockDeltas deltas, then usage', async () => {
    const a = await drain(provider.stream(agent(), messages, signal()));
    const b = await drain(provider.stream(agent(), messages, signal()));
    expect(a.chunks).toEqual(b.chunks);
    expect(deltas(a.chunks)).toHaveLength(6);
    expect(deltas(a.chunks).join('')).toBe('Here is a short answer about ');
    const seven = await drain(provider.stream(agent({ mockDeltas: 7 }), messages, signal()));
    expect(deltas(seven.chunks).join('')).toBe('Here is a short answer about photosynthesis, ');
    expect(mockAnswer(messages)).toContain('photosynthesis, respiration, differ, plants');
    expect(a.chunks[a.chunks.length - 1]).toEqual({
      type: 'usage',
      usage: { promptTokens: expect.any(Number), completionTokens: expect.any(Number) },
    });
  });

  it('cycles the reply when more deltas are asked than it has words', async () => {
    const { chunks } = await drain(provider.stream(agent({ mockDeltas: 60 }), messages, signal()));
    const d = deltas(chunks);
    expect(d).toHaveLength(60);
    expect(d.every((x) => x.length > 0)).toBe(true);
  });

  it('replies mockContent exactly', async () => {
    const { chunks } = await drain(provider.stream(agent({ mockContent: 'Exactly this reply.' }), messages, signal()));
    expect(deltas(chunks)).toEqual(['Exactly ', 'this ', 'reply.']);
  });

  it('answers a conversation a registered script recognises with its text, in mockDeltas deltas; others as before', async () => {
    const scripted = new MockProvider(config);
    scripted.addScript((m) => (m[0].content.startsWith('[probe]') ? 'A scripted answer of some length.' : null));
    const { chunks } = await drain(
      scripted.stream(agent(), [{ role: 'system', content: '[probe] x' }, ...messages], signal()),
    );
    expect(deltas(chunks)).toHaveLength(6);
    expect(deltas(chunks).join('')).toBe('A scripted answer of some length.');
    expect(deltas((await drain(scripted.stream(agent(), messages, signal()))).chunks).join('')).toBe(
      'Here is a short answer about ',
    );
  });

  it('honours abort immediately, even in a long delay', async () => {
    const ctrl = new AbortController();
    const pending = drain(provider.stream(agent({ mockDelayMs: 60_000 }), messages, ctrl.signal));
    ctrl.abort();
    const { chunks, error } = await pending;
    expect(chunks).toEqual([]);
    expect((error as Error).name).toBe('AbortError');
  });

  it.each([
    ['server', 500],
    ['rate_limit', 429],
    ['auth', 401],
    ['bad_request', 400],
  ])('mockError %s fails before the first delta with HTTP %i', async (mockError, status) => {
    const { chunks, error } = await drain(
      provider.stream(agent({ mockError, mockRetryAfterMs: 10 }), messages, signal()),
    );
    expect(chunks).toEqual([]);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBe(status);
  });

  it('mockErrorTimes fails only the first N calls of that agent', async () => {
    const a = agent({ mockError: 'server', mockErrorTimes: 2 }, 'flaky');
    expect((await drain(provider.stream(a, messages, signal()))).error).toBeInstanceOf(UpstreamError);
    expect((await drain(provider.stream(a, messages, signal()))).error).toBeInstanceOf(UpstreamError);
    expect((await drain(provider.stream(a, messages, signal()))).error).toBeNull();
  });

  it('mockFailAfter breaks the stream after N deltas', async () => {
    const { chunks, error } = await drain(provider.stream(agent({ mockFailAfter: 2 }), messages, signal()));
    expect(deltas(chunks)).toHaveLength(2);
    expect(error).toMatchObject({ kind: 'connection' });
  });

  it('mockStallAfter stops sending after N deltas until aborted', async () => {
    const ctrl = new AbortController();
    const got: LlmChunk[] = [];
    const pending = (async () => {
      try {
        for await (const c of provider.stream(agent({ mockStallAfter: 1 }), messages, ctrl.signal)) {
          got.push(c);
          if (got.length === 1) setTimeout(() => ctrl.abort(), 20);
        }
      } catch (err) {
        return err;
      }
    })();
    expect(((await pending) as Error).name).toBe('AbortError');
    expect(deltas(got)).toHaveLength(1);
  });
});
