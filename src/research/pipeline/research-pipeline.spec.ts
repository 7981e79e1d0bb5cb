import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { LlmAgentConfig, LlmCompletion, LlmMessage } from 'src/llm/llm.types';
import { loadConfig } from 'src/config/env';
import { MockProvider } from 'src/llm/providers/mock.provider';
import { researchMockScript } from 'src/research/pipeline/research-mock-script';
import { PipelineDeps, ResearchPipeline } from 'src/research/pipeline/research-pipeline';

const agent = (provider: 'openai' | 'mock'): LlmAgentConfig => ({
  id: provider,
  name: provider,
  provider,
  model: 'm',
  config: {},
});
const roleOf = (messages: LlmMessage[]) => /\[research:([a-z_]+)\]/.exec(messages[0].content)![1];

/** A pipeline whose LLM answers with `answer(role, user)` after `delayMs`; records concurrency and events. */
function harness(
  answer: (role: string, user: string) => string | Error,
  opts: {
    maxParallel?: number;
    delayMs?: number;
    provider?: 'openai' | 'mock';
    /** Called as each LLM call starts, before its delay. */
    onCall?: (role: string) => void;
  } = {},
) {
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const calls: string[] = [];
  const deps: PipelineDeps = {
    chains: { worker: [agent(opts.provider ?? 'openai')], critic: [agent(opts.provider ?? 'openai')] },
    maxParallel: opts.maxParallel ?? 2,
    emit: (type, data) => events.push({ type, data }),
    progress: () => undefined,
    complete: async (_chain, messages, signal): Promise<LlmCompletion> => {
      const role = roleOf(messages);
      calls.push(role);
      opts.onCall?.(role);
      if (role === 'researcher') maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, opts.delayMs ?? 2));
        signal.throwIfAborted();
        const out = answer(role, messages[1].content);
        if (out instanceof Error) throw out;
        return { content: out, usage: null, agentId: 'a', model: 'm' };
      } finally {
        if (role === 'researcher') inFlight--;
      }
    },
  };
  const controller = new AbortController();
  const pipeline = new ResearchPipeline('How do heat pumps work?', deps, controller.signal);
  return { pipeline, events, calls, controller, maxInFlight: () => maxInFlight };
}

const sections = '1. One\n2. Two\n3. Three\n4. Four\n5. Five';
const upstreamError = () => new AppError(ErrorCode.UPSTREAM_FAILED, 'boom');

describe('ResearchPipeline', () => {
  it('never runs more researchers at once than the bound, and does run them in parallel', async () => {
    const h = harness((role) => (role === 'section_planner' ? sections : 'text'), { maxParallel: 3, delayMs: 15 });
    await h.pipeline.run();
    expect(h.calls.filter((c) => c === 'researcher')).toHaveLength(5);
    expect(h.maxInFlight()).toBe(3);
  });

  it('keeps progress monotonic and pairs every agent_start with an agent_complete', async () => {
    const h = harness((role) => (role === 'section_planner' ? sections : 'text'));
    await h.pipeline.run();
    h.pipeline.finish();
    const values = h.events.filter((e) => e.type === 'research_progress').map((e) => e.data.progress as number);
    values.forEach((v, i) => i && expect(v).toBeGreaterThanOrEqual(values[i - 1]));
    expect(values[values.length - 1]).toBe(1);
    const starts = h.events.filter((e) => e.type === 'agent_start').length;
    expect(h.events.filter((e) => e.type === 'agent_complete')).toHaveLength(starts);
  });

  it('sends a weak section back for one revision only, keeping the first findings if the revision fails', async () => {
    let researcherCalls = 0;
    const h = harness((role, user) => {
      if (role === 'section_planner') return '1. One\n2. Two';
      if (role === 'evaluator') return '1. SCORE: 2 - weak\n2. SCORE: 9 - good';
      if (role === 'researcher')
        return ++researcherCalls > 2 && user.includes('revision')
          ? upstreamError()
          : `first findings ${researcherCalls}`;
      return 'text';
    });
    const report = await h.pipeline.run();
    expect(h.calls.filter((c) => c === 'evaluator')).toHaveLength(1);
    expect(researcherCalls).toBe(4); // 2 sections + a revision tried twice (retry once)
    expect(report).toMatch(/## 1\. One\n\nfirst findings \d/);
    expect(report).toContain('1 section was sent back once for revision (0 revised)');
  });

  it('goes on without the evaluation when the evaluator fails, and says so', async () => {
    const h = harness((role) =>
      role === 'evaluator' ? upstreamError() : role === 'section_planner' ? '1. A\n2. B' : 'text',
    );
    const report = await h.pipeline.run();
    expect(report).toContain('- The sections were not evaluated: boom.');
  });

  it('fails the run when a planning agent fails', async () => {
    const h = harness((role) => (role === 'team_leader' ? upstreamError() : 'text'));
    await expect(h.pipeline.run()).rejects.toThrow('team_leader failed: boom');
    expect(h.events.filter((e) => e.type === 'agent_complete').map((e) => e.data.status)).toEqual(['failed']);
  });

  it('gets a coherent report from the mock provider, whose answers to the research prompts are scripted, while calling the LLM for every agent', async () => {
    const mock = new MockProvider(
      loadConfig({
        NODE_ENV: 'test',
        DATA_DIR: '/tmp/research-pipeline-spec',
        JWT_SECRET: 'x'.repeat(40),
        ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
        MOCK_LLM_DELTAS: '5',
        MOCK_LLM_DELAY_MS: '0',
      }),
    );
    mock.addScript(researchMockScript);
    const calls: string[] = [];
    const deps: PipelineDeps = {
      chains: { worker: [agent('mock')], critic: [agent('mock')] },
      maxParallel: 2,
      emit: () => undefined,
      progress: () => undefined,
      complete: async (chain, messages, signal): Promise<LlmCompletion> => {
        calls.push(roleOf(messages));
        let content = '';
        for await (const chunk of mock.stream(chain[0], messages, signal))
          if (chunk.type === 'delta') content += chunk.content;
        return { content, usage: null, agentId: 'a', model: 'm' };
      },
    };
    const report = await new ResearchPipeline('How do heat pumps work?', deps, new AbortController().signal).run();
    expect(calls).toEqual([
      'team_leader',
      'plan_generator',
      'section_planner',
      'researcher',
      'researcher',
      'researcher',
      'researcher',
      'evaluator',
      'report_writer',
    ]);
    expect(report).not.toContain('Here is a short answer');
    expect(report).toContain('## 3. Key factors and challenges');
    expect(report).toContain('This report answers "How do heat pumps work" in 4 researched sections.');
  });

  it('stops at once when aborted and reports the running agents as cancelled', async () => {
    // The abort is timed from the start of the first call (not from run()): both timers are set in the same turn, so
    // the abort (10 ms) comes before the call's answer (30 ms) however late that turn runs on a loaded machine.
    const h: ReturnType<typeof harness> = harness((role) => (role === 'section_planner' ? sections : 'text'), {
      delayMs: 30,
      onCall: () => setTimeout(() => h.controller.abort(new Error('cancel')), 10),
    });
    const running = h.pipeline.run();
    await expect(running).rejects.toBeDefined();
    expect(h.events.filter((e) => e.type === 'agent_complete').map((e) => e.data.status)).toEqual(['cancelled']);
    expect(h.calls).toEqual(['team_leader']);
  });
});
