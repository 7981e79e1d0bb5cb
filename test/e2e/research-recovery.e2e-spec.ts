import { randomUUID } from 'node:crypto';
import { ResearchRetentionService } from 'src/research/streams/research-retention.service';
import { JobRunner } from 'src/jobs/job-runner.service';
import { StreamLog } from 'src/streaming/stream-log';
import { DataSource } from 'typeorm';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { insertRun, sessionRow } from 'test/factories/research.factory';
import { readSse, SseEvent, waitFor } from 'test/e2e/research-support';
import { createTestApp, TestApp } from 'test/utils/test-app';

const idEvents = (events: SseEvent[]) => events.filter((e) => e.id !== undefined);

describe('Research: crash recovery and event retention over HTTP', () => {
  let t: TestApp;
  let ds: DataSource;
  let log: StreamLog;
  let admin: Session;
  let user: Session;
  let outsider: Session;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        MOCK_LLM_DELAY_MS: '2',
        MOCK_LLM_DELTAS: '4',
        STREAM_RETENTION_SEC: '1',
        RESEARCH_EVENTS_RETENTION_DAYS: '7',
      },
    });
    ds = t.app.get(DataSource);
    log = t.app.get(StreamLog);
    ({ admin, user, outsider } = await teamMatrix(t));
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200));
    await t?.close();
  });

  const owner = (s: Session) => ({ id: s.userId, teamId: s.teamId });
  const stream = (s: Session, id: string, lastEventId?: string) =>
    readSse(`${t.url}/api/research/sessions/${id}/events`, {
      headers: { ...s.bearer, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    });

  it('ends the followers of a run whose process died with error INTERRUPTED once the sweep finds its lease expired', async () => {
    const dead = await insertRun(ds, log, { user: owner(user), inLog: 3 });
    // The outsider's run, in another team, is alive (its lease is renewed elsewhere).
    const alive = await insertRun(ds, log, {
      user: owner(outsider),
      inLog: 3,
      leaseOwner: 'research-alive',
      leaseInSec: 300,
    });
    const following = stream(user, dead, '1-1');
    const watchingAlive = readSse(`${t.url}/api/research/sessions/${alive}/events`, {
      headers: outsider.bearer,
      timeoutMs: 1500,
    });
    await new Promise((r) => setTimeout(r, 200));

    await t.app.get(JobRunner).sweep('research');

    const { events } = await following;
    expect(idEvents(events).map((e) => [e.id, e.event])).toEqual([
      ['1-2', 'research_progress'],
      ['1-3', 'agent_start'],
      ['1-4', 'error'],
    ]);
    expect(events[events.length - 1].data).toMatchObject({
      type: 'error',
      data: { status: 'failed', code: 'INTERRUPTED', sessionId: dead },
    });
    const s = await t.http().get(`/api/research/sessions/${dead}`).set(user.bearer).expect(200);
    expect(s.body).toMatchObject({
      status: 'failed',
      progress: 0.4,
      error: { code: 'INTERRUPTED', message: expect.stringContaining('server stopped') },
    });
    // Nobody else can read it; a reconnect after the terminal event gets 204.
    await t.http().get(`/api/research/sessions/${dead}`).set(outsider.bearer).expect(404);
    await t.http().get(`/api/research/sessions/${dead}`).set(admin.bearer).expect(404);
    expect((await stream(user, dead, '1-4')).status).toBe(204);

    // The live run of the other team went on: its follower saw no terminal event, its session still runs.
    const aliveEvents = (await watchingAlive).events;
    expect(aliveEvents.map((e) => e.event).filter((e) => e === 'error' || e === 'research_complete')).toEqual([]);
    const other = await t.http().get(`/api/research/sessions/${alive}`).set(outsider.bearer).expect(200);
    expect(other.body).toMatchObject({ status: 'running', error: null });
    expect(await sessionRow(ds, alive)).toMatchObject({ lease_owner: 'research-alive', final_event_id: null });
    // A cancel reaches the live run's instance (control channel) rather than closing it here.
    await t.http().post(`/api/research/sessions/${alive}/cancel`).set(outsider.bearer).expect(200);
    expect((await sessionRow(ds, alive)).status).toBe('running');
    await ds.query(`DELETE FROM research_sessions WHERE id = $1`, [alive]);
  });

  it("after retention deleted a finished run's events, a resume still ends with research_complete (same id) and then gets 204", async () => {
    const id = randomUUID();
    await t
      .http()
      .post('/api/research/sessions')
      .set(user.bearer)
      .send({ id, query: 'Retention and resume' })
      .expect(201);
    const first = await stream(user, id);
    const ids = idEvents(first.events);
    const terminal = ids[ids.length - 1];
    expect(terminal.event).toBe('research_complete');
    await waitFor(
      async () => (await t.http().get(`/api/research/sessions/${id}`).set(user.bearer)).body.status === 'completed',
    );

    // Eight days later (the stream log expired long ago).
    await ds.query(`UPDATE research_sessions SET completed_at = completed_at - interval '8 days' WHERE id = $1`, [id]);
    await ds.query(`UPDATE research_events SET created_at = created_at - interval '8 days' WHERE session_id = $1`, [
      id,
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await t.app.get(ResearchRetentionService).purge()).events).toBe(ids.length);

    for (const lastEventId of [undefined, ids[3].id]) {
      const again = await stream(user, id, lastEventId);
      expect(again.events.map((e) => e.event)).toEqual(['connection', 'research_complete']);
      expect(again.events[1].id).toBe(terminal.id);
      expect(again.events[1].data.data.final_report).toBe(terminal.data.data.final_report);
    }
    expect((await stream(user, id, terminal.id)).status).toBe(204);
    const session = await t.http().get(`/api/research/sessions/${id}`).set(user.bearer).expect(200);
    expect(session.body.finalReport).toBe(terminal.data.data.final_report);
    // The agent history no longer has that run's agent events.
    const history = await t.http().get('/api/research/agent-history?limit=100').set(user.bearer).expect(200);
    expect(history.body.items.map((i: any) => i.sessionId)).not.toContain(id);
  });
});
