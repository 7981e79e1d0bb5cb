import { randomUUID } from 'node:crypto';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { readSse, SseEvent, waitFor } from 'test/e2e/research-support';
import { createTestApp, TestApp } from 'test/utils/test-app';

const QUERY = 'What are the trade-offs of small modular nuclear reactors?';
const idEvents = (events: SseEvent[]) => events.filter((e) => e.id !== undefined);

describe('Research with the mock provider (canonical API /api/research)', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session;
  let outsider: Session;

  beforeAll(async () => {
    // Short stream retention: a reconnect some seconds after the end is served from the database.
    t = await createTestApp({
      env: { MOCK_LLM_DELAY_MS: '4', MOCK_LLM_DELTAS: '8', STREAM_RETENTION_SEC: '1', RESEARCH_MAX_PARALLEL: '3' },
    });
    ({ admin, user, outsider } = await teamMatrix(t));
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200)); // let the audit writes of the last requests land
    await t?.close();
  });

  const start = (s: Session, id: string, query = QUERY) =>
    t.http().post('/api/research/sessions').set(s.bearer).send({ id, query });
  const stream = (s: Session, id: string, opts: { lastEventId?: string; until?: (e: SseEvent[]) => boolean } = {}) =>
    readSse(`${t.url}/api/research/sessions/${id}/events`, {
      headers: { ...s.bearer, ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}) },
      until: opts.until,
    });
  const finished = (s: Session, id: string) =>
    waitFor(async () => {
      const res = await t.http().get(`/api/research/sessions/${id}`).set(s.bearer);
      return res.body.status !== 'running' && res.body.status !== 'pending' ? res.body : null;
    });

  describe('a full run', () => {
    const id = randomUUID();
    let events: SseEvent[];

    beforeAll(async () => {
      const res = await start(admin, id).expect(201);
      expect(res.body).toMatchObject({
        id,
        status: 'running',
        query: QUERY,
        messages: [{ role: 'user', content: QUERY }],
      });
      ({ events } = await stream(admin, id));
    });

    it('produces a coherent Markdown report with every heading and a sources/assumptions section', async () => {
      const session = await finished(admin, id);
      expect(session).toMatchObject({ id, status: 'completed', progress: 1, currentPhase: 'completed', error: null });
      const report: string = session.finalReport;
      expect(report).toMatch(/^# Research report: What are the trade-offs of small modular nuclear reactors\n/);
      for (const heading of [
        '## Executive summary',
        '## Research approach',
        '## 1. Background and context',
        '## 2. Current state of What are the trade-offs of small modular nuclear reactors',
        '## 3. Key factors and challenges',
        '## 4. Implications and outlook',
        '## Gaps and limitations',
        '## Sources and assumptions',
        '### Sources',
        '### Assumptions',
      ]) {
        expect(report).toContain(`\n${heading}\n`);
      }
      expect(report).toContain('- Every planned section was researched.');
      expect(report).toContain('- Offline knowledge base - Key factors and challenges');
      const complete = events[events.length - 1];
      expect(complete).toMatchObject({
        event: 'research_complete',
        data: { type: 'research_complete', data: { final_report: report, status: 'completed' } },
      });
    });

    it('sends connection first, research_started next and research_complete last, with ids <run>-<seq> in order', () => {
      expect(events[0]).toMatchObject({
        event: 'connection',
        id: undefined,
        data: { data: { status: 'connected', sessionId: id } },
      });
      const withIds = idEvents(events);
      expect(withIds[0].event).toBe('research_started');
      expect(withIds.map((e) => e.id)).toEqual(withIds.map((_, i) => `1-${i + 1}`));
      expect(withIds.filter((e) => e.event === 'research_complete')).toHaveLength(1);
      expect(withIds[withIds.length - 1].event).toBe('research_complete');
      expect(new Set(withIds.map((e) => e.event))).toEqual(
        new Set(['research_started', 'research_progress', 'agent_start', 'agent_complete', 'research_complete']),
      );
    });

    it('reports monotonic progress from 0 to 1 with every agent and partial results', () => {
      const progress = events.filter((e) => e.event === 'research_progress').map((e) => e.data.data);
      expect(progress.length).toBeGreaterThan(10);
      const values = progress.map((p) => p.progress);
      values.forEach((v, i) => {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
        if (i) expect(v).toBeGreaterThanOrEqual(values[i - 1]);
      });
      expect(values[values.length - 1]).toBe(1);
      const lastProgress = progress[progress.length - 1];
      expect(lastProgress.phase).toBe('completed');
      expect(lastProgress.agents.map((a: any) => a.agent_id)).toEqual([
        'team_leader',
        'plan_generator',
        'section_planner',
        'evaluator',
        'report_writer',
        'researcher_1',
        'researcher_2',
        'researcher_3',
        'researcher_4',
      ]);
      for (const a of lastProgress.agents)
        expect(a).toEqual({
          agent_id: expect.any(String),
          agent_type: expect.any(String),
          name: expect.any(String),
          status: 'completed',
          progress: 1,
          current_task: expect.any(String),
        });
      expect(lastProgress.partial_results.findings).toHaveLength(4);
      expect(lastProgress.partial_results.sources).toHaveLength(4);
    });

    it('pairs every agent_start with a later agent_complete and runs all six agent types', () => {
      const open = new Map<string, number>();
      for (const e of events) {
        const d = e.data.data;
        if (e.event === 'agent_start') {
          expect(open.has(d.agent_id)).toBe(false);
          open.set(d.agent_id, 1);
        }
        if (e.event === 'agent_complete') {
          expect(open.delete(d.agent_id)).toBe(true);
          expect(d.status).toBe('completed');
        }
      }
      expect(open.size).toBe(0);
      const types = new Set(events.filter((e) => e.event === 'agent_start').map((e) => e.data.data.agent_type));
      expect(types).toEqual(
        new Set(['team_leader', 'plan_generator', 'section_planner', 'researcher', 'evaluator', 'report_writer']),
      );
    });

    it('serves the finished run from the database after the stream log expired, from any Last-Event-ID', async () => {
      await new Promise((r) => setTimeout(r, 2500));
      const withIds = idEvents(events);
      const again = await stream(admin, id, { lastEventId: withIds[4].id });
      expect(again.events[0].event).toBe('connection');
      expect(idEvents(again.events).map((e) => [e.id, e.event])).toEqual(withIds.slice(5).map((e) => [e.id, e.event]));
      expect(again.events[again.events.length - 1].data.data.final_report).toBe(
        events[events.length - 1].data.data.final_report,
      );
    });

    it('gives the agent network snapshot of a finished run and ends', async () => {
      const net = await readSse(`${t.url}/api/research/sessions/${id}/agents/events`, { headers: admin.bearer });
      expect(net.events.map((e) => e.event)).toEqual(['agent_network_connection', 'agent_network_snapshot']);
      const snap = net.events[1].data.data;
      expect(snap).toMatchObject({ sessionId: id, status: 'completed', progress: 1 });
      expect(snap.agents).toHaveLength(9);
    });
  });

  it('resumes after a disconnect with Last-Event-ID with exactly the remaining events', async () => {
    const id = `resume-${randomUUID().slice(0, 8)}`;
    await start(admin, id).expect(201);
    const first = await stream(admin, id, { until: (ev) => idEvents(ev).length >= 6 });
    const firstIds = idEvents(first.events);
    expect(firstIds).toHaveLength(6);
    const rest = await stream(admin, id, { lastEventId: firstIds[5].id });
    const restIds = idEvents(rest.events);
    expect(restIds[restIds.length - 1].event).toBe('research_complete');
    const whole = await stream(admin, id);
    expect([...firstIds, ...restIds].map((e) => [e.id, e.event, JSON.stringify(e.data)])).toEqual(
      idEvents(whole.events).map((e) => [e.id, e.event, JSON.stringify(e.data)]),
    );
  });

  it('streams the agent network live: connection, snapshot, then agent events and updates', async () => {
    const id = randomUUID();
    await start(admin, id).expect(201);
    const net = await readSse(`${t.url}/api/research/sessions/${id}/agents/events`, { headers: admin.bearer });
    const kinds = net.events.map((e) => e.event);
    expect(kinds.slice(0, 2)).toEqual(['agent_network_connection', 'agent_network_snapshot']);
    expect(kinds).toContain('agent_network_update');
    expect(kinds).toContain('agent_complete');
    expect(net.events[net.events.length - 1].data.data).toMatchObject({ status: 'completed', progress: 1 });
    await finished(admin, id);
  });

  it('restarts a finished session as a new run, and refuses a second start while it runs', async () => {
    const id = randomUUID();
    await start(admin, id).expect(201);
    const busy = await start(admin, id).expect(409);
    expect(busy.body.error).toBe('CONFLICT');
    await finished(admin, id);
    const run1 = idEvents((await stream(admin, id)).events);
    await start(admin, id, 'A different question about tidal power').expect(201);
    // A Last-Event-ID of the previous run replays the new run from its start.
    const run2 = idEvents((await stream(admin, id, { lastEventId: run1[run1.length - 1].id })).events);
    expect(run2[0]).toMatchObject({ id: '2-1', event: 'research_started' });
    expect(run2[run2.length - 1].event).toBe('research_complete');
    const session = await finished(admin, id);
    expect(session.title).toBe('A different question about tidal power');
    expect(session.finalReport).toContain('# Research report: A different question about tidal power');
  });

  it('validates the session id and the query', async () => {
    await start(admin, 'bad id!').expect(400);
    await start(admin, 'x'.repeat(101)).expect(400);
    await t.http().post('/api/research/sessions').set(admin.bearer).send({ id: randomUUID(), query: '' }).expect(400);
    await t
      .http()
      .post('/api/research/sessions')
      .set(admin.bearer)
      .send({ id: randomUUID(), query: 'q'.repeat(2001) })
      .expect(400);
    await t
      .http()
      .post('/api/research/sessions')
      .set(admin.bearer)
      .send({ id: randomUUID(), query: 'ok', session_id: 'x', user_id: 'y' })
      .expect(400); // the canonical API is strict
    await t
      .http()
      .post('/api/research/sessions')
      .set(admin.bearer)
      .send({ query: 'ok', preferences: { depth: 2 } })
      .expect(201);
  });

  it("lists, updates and stores messages of the caller's sessions, one message per client id", async () => {
    const id = randomUUID();
    await start(user, id).expect(201);
    await finished(user, id);
    const upd = await t
      .http()
      .patch(`/api/research/sessions/${id}`)
      .set(user.bearer)
      .send({ title: 'Renamed', metadata: { pinned: true } })
      .expect(200);
    expect(upd.body).toMatchObject({ id, title: 'Renamed', metadata: { pinned: true } });
    const msg = { id: 'msg-1', role: 'user', content: 'hello', timestamp: '2026-01-01T00:00:00.000Z' };
    const a = await t.http().post(`/api/research/sessions/${id}/messages`).set(user.bearer).send(msg).expect(201);
    expect(a.body).toEqual({ ...msg, metadata: {} });
    await t
      .http()
      .post(`/api/research/sessions/${id}/messages`)
      .set(user.bearer)
      .send({ ...msg, content: 'again' })
      .expect(200);
    await t
      .http()
      .post(`/api/research/sessions/${id}/messages`)
      .set(user.bearer)
      .send({ role: 'assistant', content: 'no id' })
      .expect(201);
    await t
      .http()
      .post(`/api/research/sessions/${id}/messages`)
      .set(user.bearer)
      .send({ role: 'robot', content: 'x' })
      .expect(400);
    const got = await t.http().get(`/api/research/sessions/${id}`).set(user.bearer).expect(200);
    // msg-1 (sent earlier by the client's clock), the query stored at the start, the report stored at the end, 'no id'
    expect(got.body.messages.map((m: any) => [m.role, m.content.slice(0, 5)])).toEqual([
      ['user', 'hello'],
      ['user', QUERY.slice(0, 5)],
      ['assistant', '# Res'],
      ['assistant', 'no id'],
    ]);

    const second = randomUUID();
    await start(user, second).expect(201);
    await finished(user, second);
    const page1 = await t.http().get('/api/research/sessions?limit=1').set(user.bearer).expect(200);
    expect(page1.body.items.map((s: any) => s.id)).toEqual([second]);
    const page2 = await t
      .http()
      .get(`/api/research/sessions?limit=1&cursor=${page1.body.nextCursor}`)
      .set(user.bearer)
      .expect(200);
    expect(page2.body.items.map((s: any) => s.id)).toEqual([id]);
    expect(page2.body.nextCursor).toBeNull();
  });

  it('stores feedback with a validated rating', async () => {
    const id = randomUUID();
    await start(user, id).expect(201);
    await t
      .http()
      .post(`/api/research/sessions/${id}/messages`)
      .set(user.bearer)
      .send({ id: 'msg-1', role: 'assistant', content: 'the report' })
      .expect(201);
    for (const rating of [-1, 0, 1, 5]) {
      const res = await t
        .http()
        .post('/api/research/feedback')
        .set(user.bearer)
        .send({ sessionId: id, messageId: 'msg-1', rating, comment: 'useful' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ success: true, sessionId: id, messageId: 'msg-1', rating });
    }
    await t.http().post('/api/research/feedback').set(user.bearer).send({ rating: 3 }).expect(201);
    for (const rating of [6, -2, 2.5, '5'])
      await t.http().post('/api/research/feedback').set(user.bearer).send({ sessionId: id, rating }).expect(400);
    await t
      .http()
      .post('/api/research/feedback')
      .set(user.bearer)
      .send({ sessionId: randomUUID(), rating: 1 })
      .expect(404);
    await finished(user, id);
  });

  it("returns the caller's own recent agent events as history", async () => {
    const res = await t.http().get('/api/research/agent-history?limit=5').set(user.bearer).expect(200);
    expect(res.body.items).toHaveLength(5);
    expect(res.body.nextCursor).toEqual(expect.any(String));
    for (const item of res.body.items) expect(['agent_start', 'agent_complete']).toContain(item.type);
    const next = await t
      .http()
      .get(`/api/research/agent-history?limit=5&cursor=${res.body.nextCursor}`)
      .set(user.bearer)
      .expect(200);
    expect(next.body.items[0].timestamp <= res.body.items[4].timestamp).toBe(true);
    const own = await t.http().get('/api/research/sessions?limit=100').set(user.bearer).expect(200);
    const ids = new Set(own.body.items.map((s: any) => s.id));
    const all = await t.http().get('/api/research/agent-history?limit=100').set(user.bearer).expect(200);
    for (const item of all.body.items) expect(ids.has(item.sessionId)).toBe(true);
    await t.http().get('/api/research/agent-history?limit=0').set(user.bearer).expect(400);
    const none = await t.http().get('/api/research/agent-history').set(outsider.bearer).expect(200);
    expect(none.body.items).toEqual([]);
  });

  it("accepts feedback on a message only when it is stored in one of the caller's sessions", async () => {
    const [mine, other, theirs] = [randomUUID(), randomUUID(), randomUUID()];
    for (const [s, id] of [
      [user, mine],
      [user, other],
      [outsider, theirs],
    ] as const) {
      await start(s, id).expect(201);
      await finished(s, id);
    }
    const post = (s: Session, id: string, msgId: string) =>
      t
        .http()
        .post(`/api/research/sessions/${id}/messages`)
        .set(s.bearer)
        .send({ id: msgId, role: 'assistant', content: 'x' });
    await post(user, mine, 'm-mine').expect(201);
    await post(user, other, 'm-other').expect(201);
    await post(outsider, theirs, 'm-theirs').expect(201);
    // The same client id in two of the caller's sessions.
    await post(user, mine, 'm-twice').expect(201);
    await post(user, other, 'm-twice').expect(201);
    const feedback = (s: Session, body: Record<string, unknown>) =>
      t
        .http()
        .post('/api/research/feedback')
        .set(s.bearer)
        .send({ rating: 1, ...body });

    const ok = await feedback(user, { sessionId: mine, messageId: 'm-mine' }).expect(201);
    expect(ok.body).toMatchObject({ success: true, sessionId: mine, messageId: 'm-mine' });
    // Without sessionId the message is found in the caller's sessions and the feedback records its session.
    const found = await feedback(user, { messageId: 'm-other' }).expect(201);
    expect(found.body).toMatchObject({ sessionId: other, messageId: 'm-other' });

    const notFound = async (s: Session, body: Record<string, unknown>) => {
      const res = await feedback(s, body).expect(404);
      expect(res.body).toEqual({
        statusCode: 404,
        error: 'NOT_FOUND',
        message: expect.any(String),
        details: expect.any(Object),
        timestamp: expect.any(String),
        correlationId: expect.any(String),
      });
    };
    // Unknown, or stored in another session of the caller.
    await notFound(user, { sessionId: mine, messageId: 'm-unknown' });
    await notFound(user, { messageId: 'm-unknown' });
    await notFound(user, { sessionId: mine, messageId: 'm-other' });
    // Another user of the same team: neither the session nor the message is theirs.
    await notFound(admin, { messageId: 'm-mine' });
    await notFound(admin, { sessionId: mine, messageId: 'm-mine' });
    // Another team: the same, and their own message cannot be pinned onto our session either.
    await notFound(outsider, { messageId: 'm-mine' });
    await notFound(outsider, { sessionId: mine, messageId: 'm-mine' });
    await notFound(outsider, { sessionId: mine, messageId: 'm-theirs' });
    await notFound(user, { messageId: 'm-theirs' });
    await notFound(user, { sessionId: theirs, messageId: 'm-theirs' });
    await feedback(outsider, { sessionId: theirs, messageId: 'm-theirs' }).expect(201);

    const ambiguous = await feedback(user, { messageId: 'm-twice' }).expect(400);
    expect(ambiguous.body).toMatchObject({
      error: 'VALIDATION_FAILED',
      details: { fieldErrors: [{ field: 'sessionId', message: expect.any(String) }] },
    });
    await feedback(user, { sessionId: other, messageId: 'm-twice' }).expect(201);
    await feedback(user, { sessionId: mine, messageId: 'not a valid id!' }).expect(400);
  });

  it("answers 404 on every route for another user's and another team's session", async () => {
    const id = randomUUID();
    await start(admin, id).expect(201);
    await finished(admin, id);
    for (const other of [user, outsider]) {
      await t.http().get(`/api/research/sessions/${id}`).set(other.bearer).expect(404);
      await t.http().patch(`/api/research/sessions/${id}`).set(other.bearer).send({ title: 'x' }).expect(404);
      await t
        .http()
        .post(`/api/research/sessions/${id}/messages`)
        .set(other.bearer)
        .send({ role: 'user', content: 'x' })
        .expect(404);
      await start(other, id).expect(404);
      await t.http().post(`/api/research/sessions/${id}/cancel`).set(other.bearer).expect(404);
      expect((await stream(other, id)).status).toBe(404);
      expect(
        (await readSse(`${t.url}/api/research/sessions/${id}/agents/events`, { headers: other.bearer })).status,
      ).toBe(404);
      await t.http().post('/api/research/feedback').set(other.bearer).send({ sessionId: id, rating: 1 }).expect(404);
      const list = await t.http().get('/api/research/sessions?limit=100').set(other.bearer).expect(200);
      expect(list.body.items.map((s: any) => s.id)).not.toContain(id);
      const history = await t.http().get('/api/research/agent-history?limit=100').set(other.bearer).expect(200);
      expect(history.body.items.map((s: any) => s.sessionId)).not.toContain(id);
    }
    const mine = await t.http().get(`/api/research/sessions/${id}`).set(admin.bearer).expect(200);
    expect(mine.body.title).not.toBe('x');
    await t.http().get(`/api/research/sessions/${id}`).expect(401);
  });

  it('edits, deletes and regenerates messages, takes feedback on a session, deletes a session; resumes with ?lastEventId=', async () => {
    const id = randomUUID();
    const created = await t
      .http()
      .post('/api/research/sessions')
      .set(user.bearer)
      .send({ id, query: 'Solar', messageId: 'q-1' })
      .expect(201);
    expect(created.body.messages).toEqual([expect.objectContaining({ id: 'q-1', role: 'user', content: 'Solar' })]);
    await finished(user, id);
    const all = (await stream(user, id)).events.filter((e) => e.id);
    const tail = await readSse(`${t.url}/api/research/sessions/${id}/events?lastEventId=${all[all.length - 3].id}`, {
      headers: user.bearer,
    });
    expect(tail.events.filter((e) => e.id).map((e) => e.id)).toEqual(all.slice(-2).map((e) => e.id));

    const report = (await t.http().get(`/api/research/sessions/${id}`).set(user.bearer).expect(200)).body.messages[1];
    expect(report.role).toBe('assistant');
    await t.http().post(`/api/research/sessions/${id}/messages/q-1/regenerate`).set(user.bearer).expect(400); // a user message
    const regen = await t
      .http()
      .post(`/api/research/sessions/${id}/messages/${report.id}/regenerate`)
      .set(user.bearer)
      .expect(201);
    expect(regen.body).toMatchObject({ sessionId: id, deletedMessageIds: [report.id], runStarted: true, runNo: 2 });
    await t.http().post(`/api/research/sessions/${id}/messages/${report.id}/regenerate`).set(user.bearer).expect(404); // gone
    let s = await finished(user, id);
    expect(s.messages.map((m: any) => m.role)).toEqual(['user', 'assistant']);

    const edit = await t
      .http()
      .patch(`/api/research/sessions/${id}/messages/q-1`)
      .set(user.bearer)
      .send({ content: 'Wind', regenerate: true })
      .expect(200);
    expect(edit.body).toMatchObject({
      message: { id: 'q-1', content: 'Wind' },
      runStarted: true,
      runNo: 3,
      deletedMessageIds: [s.messages[1].id],
    });
    await t
      .http()
      .patch(`/api/research/sessions/${id}/messages/q-1`)
      .set(user.bearer)
      .send({ content: 'x', extra: 1 })
      .expect(400);
    s = await finished(user, id);
    expect(s).toMatchObject({ query: 'Wind', messages: [{ id: 'q-1', content: 'Wind' }, { role: 'assistant' }] });
    const fb = await t
      .http()
      .post(`/api/research/sessions/${id}/feedback`)
      .set(user.bearer)
      .send({ messageId: s.messages[1].id, rating: 5 })
      .expect(201);
    expect(fb.body).toMatchObject({ sessionId: id, messageId: s.messages[1].id, rating: 5 });

    for (const other of [admin, outsider]) {
      await t
        .http()
        .patch(`/api/research/sessions/${id}/messages/q-1`)
        .set(other.bearer)
        .send({ content: 'x' })
        .expect(404);
      await t.http().delete(`/api/research/sessions/${id}/messages/q-1`).set(other.bearer).expect(404);
      await t.http().post(`/api/research/sessions/${id}/messages/q-1/regenerate`).set(other.bearer).expect(404);
      await t.http().post(`/api/research/sessions/${id}/runs`).set(other.bearer).send({ query: 'x' }).expect(404);
      await t.http().post(`/api/research/sessions/${id}/feedback`).set(other.bearer).send({ rating: 1 }).expect(404);
      await t.http().delete(`/api/research/sessions/${id}`).set(other.bearer).expect(404);
    }
    const del = await t
      .http()
      .delete(`/api/research/sessions/${id}/messages/${s.messages[1].id}`)
      .set(user.bearer)
      .expect(200);
    expect(del.body.deletedMessageIds).toEqual([s.messages[1].id]);
    const ask = await t
      .http()
      .post(`/api/research/sessions/${id}/runs`)
      .set(user.bearer)
      .send({ query: 'Tides' })
      .expect(201);
    expect(ask.body).toMatchObject({ status: 'running', query: 'Tides' });
    await t.http().delete(`/api/research/sessions/${id}`).set(user.bearer).expect(204);
    await t.http().get(`/api/research/sessions/${id}`).set(user.bearer).expect(404);
    await t.http().delete(`/api/research/sessions/${id}`).set(user.bearer).expect(404);
  });

  it('lets members read and only admins change the research agents, with agents of their own team', async () => {
    const def = await t.http().get('/api/research/settings').set(user.bearer).expect(200);
    expect(def.body).toEqual({
      workerAgentId: null,
      criticAgentId: null,
      effective: {
        worker: expect.objectContaining({ id: 'builtin-mock', provider: 'mock' }),
        critic: expect.objectContaining({ id: 'builtin-mock' }),
      },
    });
    const theirs = await t
      .http()
      .post('/api/agents')
      .set(outsider.bearer)
      .send({ name: 'Theirs', provider: 'mock', model: 'm' })
      .expect(201);
    const ours = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Ours', provider: 'mock', model: 'm-ours' })
      .expect(201);
    await t.http().put('/api/research/settings').set(user.bearer).send({ workerAgentId: ours.body.id }).expect(403);
    await t.http().put('/api/research/settings').set(admin.bearer).send({ workerAgentId: theirs.body.id }).expect(404);
    const set = await t
      .http()
      .put('/api/research/settings')
      .set(admin.bearer)
      .send({ workerAgentId: ours.body.id })
      .expect(200);
    expect(set.body).toMatchObject({
      workerAgentId: ours.body.id,
      criticAgentId: null,
      effective: { worker: { id: ours.body.id }, critic: { id: ours.body.id } },
    });
    const other = await t.http().get('/api/research/settings').set(outsider.bearer).expect(200);
    expect(other.body.effective.worker.id).toBe(theirs.body.id);
    await t.http().put('/api/research/settings').set(admin.bearer).send({ workerAgentId: null }).expect(200);
  });

  it('documents every research route in the OpenAPI document', async () => {
    const doc = (await t.http().get('/docs-json').expect(200)).body;
    for (const path of [
      '/api/research/sessions',
      '/api/research/sessions/{sessionId}',
      '/api/research/sessions/{sessionId}/runs',
      '/api/research/sessions/{sessionId}/events',
      '/api/research/sessions/{sessionId}/cancel',
      '/api/research/sessions/{sessionId}/feedback',
      '/api/research/sessions/{sessionId}/messages',
      '/api/research/sessions/{sessionId}/messages/{messageId}',
      '/api/research/sessions/{sessionId}/messages/{messageId}/regenerate',
      '/api/research/sessions/{sessionId}/agents/events',
      '/api/research/agent-history',
      '/api/research/feedback',
      '/api/research/settings',
    ]) {
      expect(doc.paths[path]).toBeDefined();
    }
    // The Vana-shaped routes are no longer part of the canonical API; they live under /compat/vana.
    for (const path of [
      '/api/run_sse/{sessionId}',
      '/api/sessions',
      '/agent_network_sse/{sessionId}',
      '/agent_network_history',
      '/feedback',
    ]) {
      expect(doc.paths[path]).toBeUndefined();
      expect(doc.paths[`/compat/vana${path}`]).toBeDefined();
    }
  });
});
