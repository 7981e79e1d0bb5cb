import { ErrorCode } from 'src/common/errors/error-code';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import { agentFor, collect, createLlmKit, expectAppError, LlmKit, USER_MESSAGES } from 'test/medium/llm/llm-test-kit';

describe('LlmService per-agent circuit breaker', () => {
  const fake = new FakeOpenAiServer();
  let kit: LlmKit;
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = `${await fake.start()}/v1`;
    kit = await createLlmKit({
      LLM_MAX_ATTEMPTS: '1',
      LLM_BREAKER_FAILURE_THRESHOLD: '3',
      LLM_BREAKER_RESET_TIMEOUT_MS: '300',
    });
  });
  afterAll(async () => {
    await kit.close();
    await fake.stop();
  });
  beforeEach(() => fake.reset());

  const openai = () => agentFor({ provider: 'openai', baseUrl, secret: 'sk-b', teamId: 'team-1' });
  const run = (agent: ReturnType<typeof openai>, signal = new AbortController().signal) =>
    collect(kit.service.stream([agent], USER_MESSAGES, signal));
  const stateOf = (agentId: string) => kit.breakers.snapshot('agent').find((s) => s.name === `agent:${agentId}`);

  it('opens after N consecutive failures, then answers CIRCUIT_OPEN without calling the upstream', async () => {
    const agent = openai();
    fake.setDefault({ status: 500 });
    for (let i = 0; i < 3; i++) expectAppError((await run(agent)).error, ErrorCode.UPSTREAM_FAILED);
    expect(stateOf(agent.id)).toMatchObject({
      state: 'open',
      kind: 'agent',
      labels: { agentId: agent.id, provider: 'openai', teamId: 'team-1' },
    });

    const { chunks, error } = await run(agent);
    const e = expectAppError(error, ErrorCode.CIRCUIT_OPEN);
    expect(e.options.retryAfter).toBeGreaterThanOrEqual(1);
    expect(chunks).toEqual([]);
    expect(fake.requests).toHaveLength(3);
  });

  it('half-opens after the reset timeout and closes on a success', async () => {
    const agent = openai();
    fake.setDefault({ status: 500 });
    for (let i = 0; i < 3; i++) await run(agent);
    expect(stateOf(agent.id)?.state).toBe('open');

    await new Promise((r) => setTimeout(r, 350));
    fake.setDefault({ deltas: ['back'] });
    const { text, error } = await run(agent);
    expect(error).toBeNull();
    expect(text).toBe('back');
    expect(stateOf(agent.id)?.state).toBe('closed');
    expect(fake.requests).toHaveLength(4);
  });

  it('re-opens when the half-open probe fails', async () => {
    const agent = openai();
    fake.setDefault({ status: 500 });
    for (let i = 0; i < 3; i++) await run(agent);
    await new Promise((r) => setTimeout(r, 350));
    expectAppError((await run(agent)).error, ErrorCode.UPSTREAM_FAILED);
    expect(stateOf(agent.id)?.state).toBe('open');
    expectAppError((await run(agent)).error, ErrorCode.CIRCUIT_OPEN);
    expect(fake.requests).toHaveLength(4);
  });

  it('records success at the first delta, so a later mid-stream failure does not count', async () => {
    const agent = openai();
    fake.setDefault({ deltas: ['a', 'b', 'c'], destroyAfter: 1 });
    for (let i = 0; i < 4; i++) expectAppError((await run(agent)).error, ErrorCode.UPSTREAM_FAILED);
    expect(stateOf(agent.id)?.state).toBe('closed');
  });

  it("does not count the client's aborts as failures", async () => {
    const agent = openai();
    fake.setDefault({ holdMs: 5_000 });
    for (let i = 0; i < 4; i++) {
      const ctrl = new AbortController();
      const pending = run(agent, ctrl.signal);
      await fake.waitForRequests(i + 1);
      ctrl.abort();
      expect(((await pending).error as Error).name).toBe('AbortError');
    }
    expect(stateOf(agent.id)?.state).toBe('closed');
  });

  it('does not count a refused upstream URL against the breaker', async () => {
    const strict = await createLlmKit({
      LLM_MAX_ATTEMPTS: '1',
      LLM_BREAKER_FAILURE_THRESHOLD: '1',
      ALLOW_PRIVATE_UPSTREAMS: 'false',
    });
    try {
      const agent = openai();
      for (let i = 0; i < 2; i++) {
        const { error } = await collect(strict.service.stream([agent], USER_MESSAGES, new AbortController().signal));
        expect(expectAppError(error, ErrorCode.UPSTREAM_FAILED).message).toBe(
          "The agent's endpoint address is not allowed.",
        );
      }
      expect(fake.requests).toHaveLength(0);
      expect(strict.breakers.snapshot('agent').find((s) => s.name === `agent:${agent.id}`)?.state).toBe('closed');
    } finally {
      await strict.close();
    }
  });
});
