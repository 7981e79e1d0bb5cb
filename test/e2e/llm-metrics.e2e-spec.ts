import { Session, teamMatrix } from 'test/factories/auth.factory';
import { contentOf, readSse, SseRead } from 'test/e2e/chats-sse';
import { FakeGeminiServer } from 'test/fakes/fake-gemini-server';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import { createTestApp, TestApp } from 'test/utils/test-app';

/**
 * The LLM metrics of docs/monitoring.md (`llm_errors_total`, `llm_fallbacks_total`, `llm_tokens_total`,
 * `llm_time_to_first_token_seconds`) driven by real chat traffic against the fake upstreams. The registry
 * is shared by everything the app does, so every assertion is on a delta (after minus before).
 */

type Labels = Record<string, string>;

/** Parses the labels of one exposition line `name{a="x",b="y"} value`. */
function parseLabels(body: string): Labels {
  const out: Labels = {};
  for (const m of body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]] = m[2];
  return out;
}

/** The value of the sample `name` whose label set is exactly `labels`; 0 when the series does not exist yet. */
function value(text: string, name: string, labels: Labels = {}): number {
  const want = Object.entries(labels).sort();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.entries(parseLabels(m[2] ?? '')).sort();
    if (JSON.stringify(got) === JSON.stringify(want)) return Number(m[3]);
  }
  return 0;
}

const P = 'chat_backend_';
const ERRORS = `${P}llm_errors_total`;
const FALLBACKS = `${P}llm_fallbacks_total`;
const TOKENS = `${P}llm_tokens_total`;
const TTFT = `${P}llm_time_to_first_token_seconds`;

/** Scrape before, run, scrape after: `delta(name, labels)` is after minus before. */
async function measure(t: TestApp, run: () => Promise<void>): Promise<(name: string, labels?: Labels) => number> {
  const scrape = async (): Promise<string> => (await t.http().get('/metrics').expect(200)).text;
  const before = await scrape();
  await run();
  const after = await scrape();
  return (name, labels = {}) => value(after, name, labels) - value(before, name, labels);
}

describe('LLM metrics wired to real chat traffic', () => {
  const openai = new FakeOpenAiServer();
  const gemini = new FakeGeminiServer();
  let t: TestApp;
  let admin: Session;
  let user: Session;

  beforeAll(async () => {
    await openai.start();
    await gemini.start();
    t = await createTestApp({
      env: {
        ALLOW_PRIVATE_UPSTREAMS: 'true',
        LLM_MAX_ATTEMPTS: '2',
        LLM_RETRY_BASE_MS: '10',
        LLM_BREAKER_FAILURE_THRESHOLD: '1000',
        LLM_CONNECT_TIMEOUT_MS: '5000',
        LLM_FIRST_TOKEN_TIMEOUT_MS: '5000',
      },
    });
    ({ admin, user } = await teamMatrix(t));
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200)); // let the audit write of the last request land
    await t?.close();
    await openai.stop();
    await gemini.stop();
  });
  beforeEach(() => {
    openai.reset();
    gemini.reset();
  });

  const openAiAgent = async (name: string, extra: Record<string, unknown> = {}): Promise<string> =>
    (
      await t
        .http()
        .post('/api/agents')
        .set(admin.bearer)
        .send({
          name,
          provider: 'openai',
          model: 'gpt-fake',
          baseUrl: `${openai.baseUrl}/v1`,
          apiKey: 'sk-fake-key',
          ...extra,
        })
        .expect(201)
    ).body.id;
  const geminiAgent = async (name: string): Promise<string> =>
    (
      await t
        .http()
        .post('/api/agents')
        .set(admin.bearer)
        .send({ name, provider: 'gemini', model: 'gemini-fake', baseUrl: gemini.baseUrl, apiKey: 'gm-fake-key' })
        .expect(201)
    ).body.id;

  /** A new chat with `agentId`, one message sent over SSE and read to the end of the stream. */
  async function ask(agentId: string, content = 'hello metrics'): Promise<SseRead> {
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId }).expect(201);
    const read = await readSse(`${t.url}/api/chats/${chat.body.id}/messages`, {
      method: 'POST',
      headers: user.bearer,
      body: { content },
    });
    expect(read.status).toBe(200);
    expect(read.ended).toBe(true);
    return read;
  }
  const lastEvent = (r: SseRead) => r.events[r.events.length - 1];
  const expectComplete = (r: SseRead): void => {
    expect(lastEvent(r).event).toBe('done');
    expect(lastEvent(r).data.data).toEqual(expect.objectContaining({ status: 'complete' }));
  };

  it('counts every failed upstream call by provider and error code (429, then 500), and nothing else', async () => {
    const agentId = await openAiAgent('Failing');
    openai.enqueue({ status: 429, headers: { 'retry-after': '0' } }, { status: 500 });
    let read!: SseRead;
    const delta = await measure(t, async () => {
      read = await ask(agentId);
    });
    expect(openai.requests).toHaveLength(2);
    expect(lastEvent(read).data.data).not.toEqual(expect.objectContaining({ status: 'complete' }));

    expect(delta(ERRORS, { provider: 'openai', code: 'UPSTREAM_RATE_LIMITED' })).toBe(1);
    expect(delta(ERRORS, { provider: 'openai', code: 'UPSTREAM_FAILED' })).toBe(1);
    // The chain had no fallback: nothing failed over, no token, no usage.
    expect(delta(FALLBACKS, { provider: 'openai' })).toBe(0);
    expect(delta(`${TTFT}_count`, { provider: 'openai' })).toBe(0);
    expect(delta(TOKENS, { provider: 'openai', kind: 'prompt' })).toBe(0);
    expect(delta(TOKENS, { provider: 'openai', kind: 'completion' })).toBe(0);
  });

  it('counts a fallback under the provider that failed, and the error that caused it', async () => {
    const fallbackId = await geminiAgent('Fallback');
    const primaryId = await openAiAgent('Primary', { fallbackAgentId: fallbackId });
    openai.enqueue({ status: 401 }); // not retryable: one attempt, then the chain moves on
    gemini.enqueue({ deltas: ['from', ' fallback'], usage: { promptTokens: 17, completionTokens: 5 } });
    let read!: SseRead;
    const delta = await measure(t, async () => {
      read = await ask(primaryId);
    });
    expectComplete(read);
    expect(contentOf(read.events)).toBe('from fallback');
    expect(openai.requests).toHaveLength(1);
    expect(gemini.requests).toHaveLength(1);

    expect(delta(FALLBACKS, { provider: 'openai' })).toBe(1);
    expect(delta(FALLBACKS, { provider: 'gemini' })).toBe(0);
    expect(delta(ERRORS, { provider: 'openai', code: 'UPSTREAM_AUTH_FAILED' })).toBe(1);
    // The reply came from the fallback: its first token and usage are the fallback's provider's.
    expect(delta(`${TTFT}_count`, { provider: 'gemini' })).toBe(1);
    expect(delta(`${TTFT}_count`, { provider: 'openai' })).toBe(0);
    expect(delta(TOKENS, { provider: 'gemini', kind: 'prompt' })).toBe(17);
    expect(delta(TOKENS, { provider: 'gemini', kind: 'completion' })).toBe(5);
    expect(delta(TOKENS, { provider: 'openai', kind: 'prompt' })).toBe(0);
  });

  it('adds exactly the usage the upstream reported to the token counters', async () => {
    const agentId = await openAiAgent('Counted');
    openai.enqueue({ deltas: ['one', ' two', ' three'], usage: { promptTokens: 123, completionTokens: 45 } });
    let read!: SseRead;
    const delta = await measure(t, async () => {
      read = await ask(agentId);
    });
    expectComplete(read);
    expect(lastEvent(read).data.data).toEqual(
      expect.objectContaining({ usage: { promptTokens: 123, completionTokens: 45 } }),
    );

    expect(delta(TOKENS, { provider: 'openai', kind: 'prompt' })).toBe(123);
    expect(delta(TOKENS, { provider: 'openai', kind: 'completion' })).toBe(45);
    expect(delta(ERRORS, { provider: 'openai', code: 'UPSTREAM_FAILED' })).toBe(0);
  });

  it('observes the time to first token once per successful reply, a retried one included', async () => {
    const agentId = await openAiAgent('Timed');
    // Reply 1: a 500, then the retry answers. Reply 2: answers at once.
    openai.enqueue({ status: 500 }, { deltas: ['a', 'b'], firstDeltaDelayMs: 30 }, { deltas: ['c', 'd'] });
    const reads: SseRead[] = [];
    const delta = await measure(t, async () => {
      reads.push(await ask(agentId, 'first'));
      reads.push(await ask(agentId, 'second'));
    });
    reads.forEach(expectComplete);
    expect(openai.requests).toHaveLength(3);

    expect(delta(`${TTFT}_count`, { provider: 'openai' })).toBe(2);
    expect(delta(`${TTFT}_bucket`, { provider: 'openai', le: '+Inf' })).toBe(2);
    // Reply 1 waited at least the 30 ms before its first delta.
    expect(delta(`${TTFT}_sum`, { provider: 'openai' })).toBeGreaterThanOrEqual(0.03);
    expect(delta(ERRORS, { provider: 'openai', code: 'UPSTREAM_FAILED' })).toBe(1);
  });
});
