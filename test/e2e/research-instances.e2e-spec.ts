import { randomUUID } from 'node:crypto';
import { JobRunner } from 'src/jobs/job-runner.service';
import { StreamLog } from 'src/streaming/stream-log';
import { DataSource } from 'typeorm';
import { Session, registerTeam } from 'test/factories/auth.factory';
import { insertRun, sessionRow, storedEvents } from 'test/factories/research.factory';
import { readSse, ResearchUpstream, waitFor } from 'test/e2e/research-support';
import { authenticateWith } from 'test/utils/passport-instances';
import { createTestApp, TestApp } from 'test/utils/test-app';

/**
 * Two instances of the app on the same PostgreSQL database and Redis (only in the PostgreSQL+Redis run:
 * the embedded database and the in-process stream log are single-instance by design).
 */
const multiInstance = process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL ? describe : describe.skip;

multiInstance('Research across two instances', () => {
  let a: TestApp;
  let b: TestApp;
  let admin: Session;
  const upstream = new ResearchUpstream((role, user) =>
    role === 'researcher'
      ? { text: `Findings.\nSource: ${user.length}`, delayMs: 4000 }
      : { text: role === 'section_planner' ? '1. One\n2. Two' : 'ok' },
  );

  beforeAll(async () => {
    await upstream.start();
    const env = { ALLOW_PRIVATE_UPSTREAMS: 'true', LLM_MAX_ATTEMPTS: '1', LLM_FIRST_TOKEN_TIMEOUT_MS: '20000' };
    a = await createTestApp({ env });
    b = await createTestApp({
      env: { ...env, DATABASE_URL: a.config.db.url as string, REDIS_KEY_PREFIX: a.config.redisKeyPrefix },
    });
    admin = await registerTeam(a);
    // One process, two apps: passport's 'jwt' strategy is global (B, created last, would authenticate A's
    // requests too), so each request is authenticated by the instance it goes to (see the helper).
    authenticateWith(a.app);
    const agent = await a
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Up', provider: 'openai', model: 'gpt-fake', baseUrl: upstream.url, apiKey: 'sk-test' })
      .expect(201);
    await a.http().put('/api/research/settings').set(admin.bearer).send({ workerAgentId: agent.body.id }).expect(200);
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200));
    await b?.close(); // drops only the unused database created for B
    await a?.close();
    await upstream.stop();
  });

  it('follows on instance B a run started on instance A, and cancels it from B', async () => {
    const id = randomUUID();
    authenticateWith(a.app);
    await a.http().post('/api/research/sessions').set(admin.bearer).send({ id, query: 'Across instances' }).expect(201);
    authenticateWith(b.app); // A's POST was answered: it is authenticated
    const watching = readSse(`${b.url}/api/research/sessions/${id}/events`, { headers: admin.bearer });
    await waitFor(async () => upstream.callsOf('researcher').length === 2);
    await b.http().post(`/api/research/sessions/${id}/cancel`).set(admin.bearer).expect(200);
    const { events } = await watching;
    expect(events[0].event).toBe('connection');
    expect(events.find((e) => e.id)?.event).toBe('research_started');
    expect(events[events.length - 1]).toMatchObject({ event: 'error', data: { data: { code: 'CANCELLED' } } });
    await waitFor(async () => upstream.callsOf('researcher').every((c) => c.clientClosed));
    const s = await b.http().get(`/api/research/sessions/${id}`).set(admin.bearer).expect(200);
    expect(s.body.status).toBe('cancelled');
  });

  it('finishes a run whose instance died exactly once, whichever instances sweep, and ends its followers on every instance', async () => {
    const other = await registerTeam(b);
    const owner = { id: admin.userId, teamId: admin.teamId };
    const ds = a.app.get(DataSource);
    const dead = await insertRun(ds, a.app.get(StreamLog), { user: owner, inLog: 2 });
    const alive = await insertRun(ds, a.app.get(StreamLog), {
      user: { id: other.userId, teamId: other.teamId },
      inLog: 3,
      leaseOwner: 'research-alive',
      leaseInSec: 300,
    });
    authenticateWith(a.app);
    let openedA!: () => void;
    const aOpen = new Promise<void>((resolve) => (openedA = resolve));
    const onA = readSse(`${a.url}/api/research/sessions/${dead}/events`, {
      headers: admin.bearer,
      onOpen: () => openedA(),
    });
    await Promise.race([aOpen, onA]); // A's follower got past authentication before B's strategy is put back
    authenticateWith(b.app);
    const onB = readSse(`${b.url}/api/research/sessions/${dead}/events`, {
      headers: { ...admin.bearer, 'last-event-id': '1-2' },
    });
    await new Promise((r) => setTimeout(r, 300));

    const swept = await Promise.all([a.app.get(JobRunner).sweep('research'), b.app.get(JobRunner).sweep('research')]);
    expect(swept[0] + swept[1]).toBe(1);

    const [fromA, fromB] = [(await onA).events, (await onB).events];
    expect(fromA.filter((e) => e.id).map((e) => e.id)).toEqual(['1-1', '1-2', '1-3', '1-4']);
    expect(fromB.filter((e) => e.id).map((e) => e.id)).toEqual(['1-3', '1-4']);
    for (const events of [fromA, fromB])
      expect(events[events.length - 1]).toMatchObject({
        event: 'error',
        data: { data: { code: 'INTERRUPTED', status: 'failed' } },
      });
    expect((await storedEvents(ds, dead)).filter((e) => e.type === 'error')).toHaveLength(1);
    const s = await b.http().get(`/api/research/sessions/${dead}`).set(admin.bearer).expect(200);
    expect(s.body).toMatchObject({ status: 'failed', error: { code: 'INTERRUPTED' } });
    expect(await sessionRow(ds, alive)).toMatchObject({ status: 'running', lease_owner: 'research-alive' });
    await ds.query(`DELETE FROM research_sessions WHERE id = $1`, [alive]);
  });
});
