import { FakeGeminiServer } from 'test/fakes/fake-gemini-server';
import { FakeN8nServer } from 'test/fakes/fake-n8n-server';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import { ScriptedHttpServer } from 'test/fakes/scripted-http-server';
import { LlmAgentConfig, LlmChunk } from 'src/llm/llm.types';
import { agentFor, createLlmKit, LlmKit, USER_MESSAGES } from 'test/medium/llm/llm-test-kit';

describe("LlmService and the caller's abort", () => {
  const fakes = { openai: new FakeOpenAiServer(), gemini: new FakeGeminiServer(), n8n: new FakeN8nServer('sse') };
  const agents: Record<keyof typeof fakes, () => LlmAgentConfig> = {} as never;
  let kit: LlmKit;

  beforeAll(async () => {
    const openaiUrl = `${await fakes.openai.start()}/v1`;
    const geminiUrl = await fakes.gemini.start();
    const n8nUrl = `${await fakes.n8n.start()}/webhook/a`;
    agents.openai = () => agentFor({ provider: 'openai', baseUrl: openaiUrl, secret: 'sk-a' });
    agents.gemini = () => agentFor({ provider: 'gemini', baseUrl: geminiUrl, secret: 'gm-a' });
    agents.n8n = () => agentFor({ provider: 'n8n', webhookUrl: n8nUrl, secret: 'n8n-a' });
    kit = await createLlmKit({ LLM_RETRY_BASE_MS: '5000' });
  });
  afterAll(async () => {
    await kit.close();
    await Promise.all(Object.values(fakes).map((f) => f.stop()));
  });
  beforeEach(() => Object.values(fakes).forEach((f) => f.reset()));

  /** Consumes until `stopAfterDeltas` deltas arrived, then aborts; returns what arrived and the error. */
  async function abortAfter(
    agent: LlmAgentConfig,
    stopAfterDeltas: number,
  ): Promise<{ chunks: LlmChunk[]; error: unknown }> {
    const ctrl = new AbortController();
    const chunks: LlmChunk[] = [];
    let deltas = 0;
    try {
      for await (const c of kit.service.stream([agent], USER_MESSAGES, ctrl.signal)) {
        chunks.push(c);
        if (c.type === 'delta' && ++deltas === stopAfterDeltas) ctrl.abort();
      }
    } catch (err) {
      return { chunks, error: err };
    }
    return { chunks, error: null };
  }

  it.each(['openai', 'gemini', 'n8n'] as const)(
    'abort mid-stream closes the upstream connection (%s)',
    async (name) => {
      const fake: ScriptedHttpServer = fakes[name];
      fake.setDefault({ deltas: Array.from({ length: 50 }, (_, i) => `d${i} `), delayMs: 20 });
      const { chunks, error } = await abortAfter(agents[name](), 2);
      expect((error as Error).name).toBe('AbortError');
      expect(chunks.filter((c) => c.type === 'delta')).toHaveLength(2);
      const req = fake.requests[0];
      await fake.waitForFinish(req);
      expect(req.clientClosed).toBe(true);
      expect(fake.requests).toHaveLength(1);
    },
  );

  it('abort while waiting for the first byte closes the upstream connection', async () => {
    fakes.openai.setDefault({ holdMs: 10_000 });
    const ctrl = new AbortController();
    const pending = (async () => {
      try {
        for await (const _ of kit.service.stream([agents.openai()], USER_MESSAGES, ctrl.signal));
      } catch (err) {
        return err;
      }
      return null;
    })();
    await fakes.openai.waitForRequests(1);
    ctrl.abort();
    expect(((await pending) as Error).name).toBe('AbortError');
    await fakes.openai.waitForFinish(fakes.openai.requests[0]);
    expect(fakes.openai.requests[0].clientClosed).toBe(true);
  });

  it('abort during a retry backoff stops at once without another request', async () => {
    fakes.openai.setDefault({ status: 503 });
    const ctrl = new AbortController();
    const started = Date.now();
    const pending = (async () => {
      try {
        for await (const c of kit.service.stream([agents.openai()], USER_MESSAGES, ctrl.signal)) {
          if (c.type === 'status' && c.description.startsWith('Retrying')) ctrl.abort();
        }
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(((await pending) as Error).name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(4000); // the 5 s backoff was not waited for
    expect(fakes.openai.requests).toHaveLength(1);
  });

  it("rethrows the caller's own abort reason", async () => {
    fakes.openai.setDefault({ deltas: ['a', 'b', 'c'], delayMs: 20 });
    const ctrl = new AbortController();
    const reason = new Error('user cancelled');
    let caught: unknown;
    try {
      for await (const c of kit.service.stream([agents.openai()], USER_MESSAGES, ctrl.signal)) {
        if (c.type === 'delta') ctrl.abort(reason);
      }
    } catch (err) {
      caught = err;
    }
    expect(caught).toBe(reason);
  });

  it('an already aborted signal makes no upstream call', async () => {
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(kit.service.complete([agents.openai()], USER_MESSAGES, ctrl.signal)).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(fakes.openai.requests).toHaveLength(0);
  });

  it('a consumer that stops reading (break) also closes the upstream connection', async () => {
    fakes.gemini.setDefault({ deltas: Array.from({ length: 50 }, (_, i) => `d${i}`), delayMs: 20 });
    for await (const c of kit.service.stream([agents.gemini()], USER_MESSAGES, new AbortController().signal)) {
      if (c.type === 'delta') break;
    }
    await fakes.gemini.waitForFinish(fakes.gemini.requests[0]);
    expect(fakes.gemini.requests[0].clientClosed).toBe(true);
  });
});
