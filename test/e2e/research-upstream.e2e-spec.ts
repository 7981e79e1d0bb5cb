import { randomUUID } from 'node:crypto';
import { Session, registerTeam } from 'test/factories/auth.factory';
import { readSse, ResearchUpstream, SseEvent, UpstreamReply, waitFor } from 'test/e2e/research-support';
import { createTestApp, TestApp } from 'test/utils/test-app';

const SECTIONS = ['Alpha economics', 'Beta safety', 'Gamma regulation', 'Delta outlook'];

/** Role-aware answers of a well-behaved upstream; `overrides` changes what one role answers. */
function scripted(overrides: Partial<Record<string, (user: string) => UpstreamReply>> = {}) {
  return (role: string, user: string): UpstreamReply => {
    const custom = overrides[role];
    if (custom) return custom(user);
    switch (role) {
      case 'section_planner':
        return { text: SECTIONS.map((s, i) => `${i + 1}. ${s}`).join('\n') };
      case 'researcher': {
        const section = /Section to research: (.+)/.exec(user)?.[1] ?? '?';
        return {
          text: `Findings about ${section}.\nSource: https://example.org/${encodeURIComponent(section)}\nAssumption: figures from 2025`,
        };
      }
      case 'evaluator':
        return { text: SECTIONS.map((_, i) => `${i + 1}. SCORE: 8 - fine`).join('\n') };
      case 'report_writer':
        return { text: 'The upstream writer summarises the four sections.' };
      default:
        return { text: `${role} says: understood.` };
    }
  };
}

function expectPairedAgentEvents(events: SseEvent[]): void {
  const open = new Set<string>();
  for (const e of events) {
    if (e.event === 'agent_start') open.add(e.data.data.agent_id);
    if (e.event === 'agent_complete') expect(open.delete(e.data.data.agent_id)).toBe(true);
  }
  expect([...open]).toEqual([]);
}

describe('Research through a fake OpenAI-compatible upstream', () => {
  let t: TestApp;
  let admin: Session;
  const upstream = new ResearchUpstream(scripted());

  beforeAll(async () => {
    await upstream.start();
    t = await createTestApp({
      env: {
        ALLOW_PRIVATE_UPSTREAMS: 'true',
        LLM_MAX_ATTEMPTS: '1',
        LLM_BREAKER_FAILURE_THRESHOLD: '1000',
        LLM_CONNECT_TIMEOUT_MS: '10000',
        LLM_FIRST_TOKEN_TIMEOUT_MS: '10000',
        RESEARCH_MAX_PARALLEL: '2',
        SSE_HEARTBEAT_MS: '100',
      },
    });
    admin = await registerTeam(t);
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Upstream', provider: 'openai', model: 'gpt-fake', baseUrl: upstream.url, apiKey: 'sk-test' })
      .expect(201);
    await t
      .http()
      .put('/api/research/settings')
      .set(admin.bearer)
      .send({ workerAgentId: agent.body.id, criticAgentId: agent.body.id })
      .expect(200);
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200));
    await t?.close();
    await upstream.stop();
  });
  beforeEach(() => {
    upstream.calls.length = 0;
    upstream.handler = scripted();
  });

  const run = async (id: string) => {
    await t
      .http()
      .post('/api/research/sessions')
      .set(admin.bearer)
      .send({ id, query: 'Should our city build a small modular reactor?' })
      .expect(201);
    return readSse(`${t.url}/api/research/sessions/${id}/events`, { headers: admin.bearer });
  };
  const session = async (id: string) =>
    (await t.http().get(`/api/research/sessions/${id}`).set(admin.bearer).expect(200)).body;

  it('runs every agent through the upstream and builds the report from its answers, revising a weak section once', async () => {
    upstream.handler = scripted({
      evaluator: () => ({
        text: '1. SCORE: 8 - good\n2. SCORE: 3 - too thin, add numbers\n3. SCORE: 9 - good\n4. SCORE: 7 - ok',
      }),
    });
    const id = randomUUID();
    const { events } = await run(id);
    const s = await session(id);
    expect(s.status).toBe('completed');
    expect(upstream.calls.map((c) => c.role).filter((r) => r !== 'researcher')).toEqual([
      'team_leader',
      'plan_generator',
      'section_planner',
      'evaluator',
      'report_writer',
    ]);
    expect(upstream.callsOf('researcher')).toHaveLength(5);
    expect(upstream.callsOf('researcher')[4].user).toContain('A reviewer asked for a revision: too thin, add numbers');
    const report: string = s.finalReport;
    SECTIONS.forEach((title, i) => expect(report).toContain(`\n## ${i + 1}. ${title}\n`));
    expect(report).toContain('The upstream writer summarises the four sections.');
    expect(report).toContain('- https://example.org/Beta%20safety');
    expect(report).toContain('- figures from 2025');
    expect(report).toContain('1 section was sent back once for revision (1 revised)');
    expect(events[events.length - 1].event).toBe('research_complete');
    expectPairedAgentEvents(events);
    expect(events.find((e) => e.event === 'agent_start')!.data.data).toMatchObject({ provider: 'openai' });
  });

  it('runs researchers in parallel, never more at once than the configured bound', async () => {
    upstream.handler = scripted({ researcher: (user) => ({ ...scripted()('researcher', user), delayMs: 250 }) });
    const id = randomUUID();
    const { events } = await run(id);
    expect(upstream.callsOf('researcher')).toHaveLength(4);
    expect(upstream.maxConcurrency('researcher')).toBe(2);
    // Two rounds of 250 ms researchers: heartbeat events (no id, not part of the run) went out meanwhile.
    const beats = events.filter((e) => e.event === 'heartbeat');
    expect(beats.length).toBeGreaterThan(0);
    for (const b of beats) expect(b).toMatchObject({ id: undefined, data: { data: { sessionId: id } } });
    expect((await session(id)).status).toBe('completed');
  });

  it('retries a failing researcher once, then completes the report and says what is missing', async () => {
    upstream.handler = scripted({
      researcher: (user) =>
        user.includes('Section to research: Beta safety') ? { status: 500 } : scripted()('researcher', user),
    });
    const id = randomUUID();
    const { events } = await run(id);
    const s = await session(id);
    expect(s.status).toBe('completed');
    const beta = upstream.callsOf('researcher').filter((c) => c.user.includes('Beta safety'));
    expect(beta).toHaveLength(2);
    expect(s.finalReport).toContain('## 2. Beta safety\n\n_This section is missing: research failed');
    expect(s.finalReport).toContain('- Missing section "Beta safety"');
    const failed = events.find((e) => e.event === 'agent_complete' && e.data.data.status === 'failed');
    expect(failed!.data.data).toMatchObject({
      agent_id: 'researcher_2',
      agent_type: 'researcher',
      error: { code: 'UPSTREAM_FAILED' },
    });
    expect(upstream.callsOf('evaluator')[0].user).not.toContain('Beta safety');
    expect(upstream.callsOf('report_writer')[0].user).toContain('could not be researched: Beta safety');
    expectPairedAgentEvents(events);
  });

  it('cancels mid-run: the running upstream calls are aborted and the session ends cancelled', async () => {
    upstream.handler = scripted({ researcher: (user) => ({ ...scripted()('researcher', user), delayMs: 5000 }) });
    const id = randomUUID();
    await t.http().post('/api/research/sessions').set(admin.bearer).send({ id, query: 'Cancel me' }).expect(201);
    const watching = readSse(`${t.url}/api/research/sessions/${id}/events`, { headers: admin.bearer });
    await waitFor(async () => upstream.callsOf('researcher').length === 2);
    const res = await t.http().post(`/api/research/sessions/${id}/cancel`).set(admin.bearer).expect(200);
    expect(res.body).toEqual({ id, cancelled: true, status: 'running' });
    const { events } = await watching;
    const last = events[events.length - 1];
    expect(last).toMatchObject({ event: 'error', data: { data: { code: 'CANCELLED', status: 'cancelled' } } });
    expectPairedAgentEvents(events);
    const cancelled = events.filter((e) => e.event === 'agent_complete' && e.data.data.status === 'cancelled');
    expect(cancelled.map((e) => e.data.data.agent_id).sort()).toEqual(['researcher_1', 'researcher_2']);
    await waitFor(async () => upstream.callsOf('researcher').every((c) => c.clientClosed));
    expect(upstream.callsOf('researcher')).toHaveLength(2);
    const s = await session(id);
    expect(s).toMatchObject({ status: 'cancelled', currentPhase: 'cancelled', error: { code: 'CANCELLED' } });
    const again = await t.http().post(`/api/research/sessions/${id}/cancel`).set(admin.bearer).expect(200);
    expect(again.body).toEqual({ id, cancelled: false, status: 'cancelled' });
  });
});

describe('Research time limit', () => {
  let t: TestApp;
  let admin: Session;
  const upstream = new ResearchUpstream((role) =>
    role === 'plan_generator' ? { text: 'slow', delayMs: 8000 } : { text: 'ok' },
  );

  beforeAll(async () => {
    await upstream.start();
    t = await createTestApp({
      env: {
        ALLOW_PRIVATE_UPSTREAMS: 'true',
        LLM_MAX_ATTEMPTS: '1',
        LLM_FIRST_TOKEN_TIMEOUT_MS: '20000',
        LLM_CONNECT_TIMEOUT_MS: '20000',
        RESEARCH_TIME_LIMIT_MS: '1500',
      },
    });
    admin = await registerTeam(t);
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Slow', provider: 'openai', model: 'gpt-fake', baseUrl: upstream.url, apiKey: 'sk-test' })
      .expect(201);
    await t.http().put('/api/research/settings').set(admin.bearer).send({ workerAgentId: agent.body.id }).expect(200);
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200));
    await t?.close();
    await upstream.stop();
  });

  it('fails the whole run with a clear error when it exceeds the time limit, aborting the running call', async () => {
    const id = randomUUID();
    await t.http().post('/api/research/sessions').set(admin.bearer).send({ id, query: 'Too slow' }).expect(201);
    const { events } = await readSse(`${t.url}/api/research/sessions/${id}/events`, { headers: admin.bearer });
    expect(events[events.length - 1]).toMatchObject({
      event: 'error',
      data: { data: { code: 'RESEARCH_TIME_LIMIT', status: 'failed' } },
    });
    expectPairedAgentEvents(events);
    const s = (await t.http().get(`/api/research/sessions/${id}`).set(admin.bearer).expect(200)).body;
    expect(s).toMatchObject({
      status: 'failed',
      error: { code: 'RESEARCH_TIME_LIMIT', message: expect.stringContaining('time limit') },
    });
    await waitFor(async () => upstream.callsOf('plan_generator')[0]?.clientClosed);
  });
});
