import { AgentsService } from 'src/agents/agents.service';
import { CreateAgentDto } from 'src/agents/dto/create-agent.dto';
import { AuthUser } from 'src/common/auth-user';
import { JobRunner } from 'src/jobs/job-runner.service';
import { ResearchRunRecoveryService } from 'src/research/runs/research-run-recovery.service';
import { ResearchRunsService } from 'src/research/runs/research-runs.service';
import { ResearchSessionRepository } from 'src/research/sessions/research-session.repository';
import { ResearchSessionsService } from 'src/research/sessions/research-sessions.service';
import { ResearchSettingsService } from 'src/research/sessions/research-settings.service';
import { ResearchStreamsService } from 'src/research/streams/research-streams.service';
import { StreamLog } from 'src/streaming/stream-log';
import { DataSource } from 'typeorm';
import { insertRun, sessionRow, storedEvents } from 'test/factories/research.factory';
import { fakeUser, runFrames } from 'test/medium/research/research-kit';
import { withTestApp } from 'test/utils/test-app';

describe('Research crash recovery: run leases and the sweep (medium: real services, real database)', () => {
  let ds: DataSource;
  let log: StreamLog;
  let runner: JobRunner;
  let recovery: ResearchRunRecoveryService;
  let runs: ResearchRunsService;
  let sessions: ResearchSessionsService;
  let streams: ResearchStreamsService;

  const t = withTestApp({ env: { RESEARCH_LEASE_MS: '1000', MOCK_LLM_DELAY_MS: '2', MOCK_LLM_DELTAS: '4' } });
  beforeAll(async () => {
    ds = t.app.get(DataSource);
    log = t.app.get(StreamLog);
    runner = t.app.get(JobRunner);
    recovery = t.app.get(ResearchRunRecoveryService);
    runs = t.app.get(ResearchRunsService);
    sessions = t.app.get(ResearchSessionsService);
    streams = t.app.get(ResearchStreamsService);
  });

  /** A team whose research runs on a slow mock agent (each agent call takes about `ms`). */
  const slowTeam = async (ms: number): Promise<AuthUser> => {
    const admin = fakeUser();
    const dto = {
      name: 'Slow',
      provider: 'mock',
      model: 'slow',
      config: { mockDeltas: 10, mockDelayMs: Math.ceil(ms / 10) },
    } as unknown as CreateAgentDto;
    const agent = await t.app.get(AgentsService).create(admin, dto);
    await t.app.get(ResearchSettingsService).update(admin, { workerAgentId: agent.id });
    return admin;
  };
  const until = async (check: () => Promise<boolean> | boolean, timeoutMs = 20000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  it('finishes a run whose lease expired as failed/INTERRUPTED, keeps its progress and events, and ends its followers', async () => {
    const user = fakeUser();
    // Three events reached the database, only two the log: the process died in between.
    const id = await insertRun(ds, log, { user, inLog: 2, progress: 0.4, phase: 'researching' });
    const follower = runFrames(streams, user, id, '1-1');
    await new Promise((r) => setTimeout(r, 50));

    expect(await runner.sweep('research')).toBeGreaterThanOrEqual(1);

    const row = await sessionRow(ds, id);
    expect(row).toMatchObject({
      status: 'failed',
      current_phase: 'failed',
      progress: 0.4,
      final_event_id: '1-4',
      lease_owner: null,
      lease_expires_at: null,
    });
    expect(row.error).toEqual({
      code: 'INTERRUPTED',
      message: 'The server stopped during the research (phase researching); start it again',
    });
    expect(row.completed_at).not.toBeNull();

    const frames = (await follower)!;
    expect(frames.map((f) => [f.id, f.type])).toEqual([
      [undefined, 'connection'],
      ['1-2', 'research_progress'],
      ['1-3', 'agent_start'],
      ['1-4', 'error'],
    ]);
    const terminal = frames[3].data as Record<string, any>;
    expect(terminal).toMatchObject({ status: 'failed', code: 'INTERRUPTED', phase: 'researching', sessionId: id });
    expect(terminal.agents.map((a: any) => [a.agent_id, a.status])).toEqual([
      ['team_leader', 'completed'],
      ['researcher_1', 'failed'],
      ['evaluator', 'failed'],
    ]);

    const stored = await storedEvents(ds, id);
    expect(stored.map((e) => [e.seq, e.type])).toEqual([
      [1, 'research_started'],
      [2, 'research_progress'],
      [3, 'agent_start'],
      [4, 'error'],
    ]);
    // The partial results stay where they were, and the session reads as the run ended.
    expect(stored[1].data.partial_results.findings).toHaveLength(1);
    const s = await sessions.get(user, id);
    expect(s).toMatchObject({ status: 'failed', progress: 0.4, error: { code: 'INTERRUPTED' }, finalReport: null });
    // A reconnect (log or database) ends with the same terminal event; one after it gets nothing (204).
    expect((await runFrames(streams, user, id))!.map((f) => f.id)).toEqual([undefined, '1-1', '1-2', '1-3', '1-4']);
    expect(await runFrames(streams, user, id, '1-4')).toBeNull();
  });

  it('ends a dead run the log never heard of from the database alone', async () => {
    const user = fakeUser();
    const id = await insertRun(ds, log, { user, inLog: 0 });
    expect(await runner.sweep('research')).toBeGreaterThanOrEqual(1);
    const frames = (await runFrames(streams, user, id, '1-2'))!;
    expect(frames.map((f) => [f.id, f.type])).toEqual([
      [undefined, 'connection'],
      ['1-3', 'agent_start'],
      ['1-4', 'error'],
    ]);
  });

  it("never touches a run whose lease is live, and writes each terminal event into its own team's run only", async () => {
    const [a, b] = [fakeUser(), fakeUser()];
    const dead = await insertRun(ds, log, { user: a, inLog: 3 });
    const alive = await insertRun(ds, log, {
      user: b,
      inLog: 3,
      leaseOwner: 'research-other-instance',
      leaseInSec: 120,
    });
    await runner.sweep('research');
    expect((await sessionRow(ds, dead)).status).toBe('failed');
    expect(await sessionRow(ds, alive)).toMatchObject({
      status: 'running',
      lease_owner: 'research-other-instance',
      final_event_id: null,
      error: null,
    });
    expect((await storedEvents(ds, alive)).map((e) => e.type)).toEqual([
      'research_started',
      'research_progress',
      'agent_start',
    ]);
    expect((await log.read(`research:${alive}:1`, null)).finished).toBe(false);
    const deadEvents = await storedEvents(ds, dead);
    expect(new Set(deadEvents.map((e) => e.team_id))).toEqual(new Set([a.teamId]));
    // Another team cannot see either run at all.
    await expect(sessions.get(b, dead)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await ds.query(`DELETE FROM research_sessions WHERE id = $1`, [alive]);
  });

  it('lets exactly one of several concurrent sweeps (instances) finish a run', async () => {
    const user = fakeUser();
    const id = await insertRun(ds, log, { user, inLog: 3 });
    const run = { id, teamId: user.teamId, userId: user.id, runNo: 1, currentPhase: 'researching' };
    const results = await Promise.all([
      recovery.interrupt(run, 'interrupted'),
      recovery.interrupt(run, 'interrupted'),
      recovery.interrupt(run, 'interrupted'),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await storedEvents(ds, id)).filter((e) => e.type === 'error')).toHaveLength(1);
    const replay = await log.read(`research:${id}:1`, null);
    expect(replay.finished).toBe(true);
    expect(replay.events.map((e) => e.id)).toEqual(['1-1', '1-2', '1-3', '1-4']);
  });

  it('keeps renewing the lease of a run in progress, so sweeps leave it alone, and releases it at the end', async () => {
    const admin = await slowTeam(500);
    const id = `renew-${Date.now()}`;
    const started = Date.now();
    await runs.start(admin, id, { query: 'A run longer than its lease' });
    let seenRunning = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 400));
      await runner.sweep('research');
      const row = await sessionRow(ds, id);
      if (row.status !== 'running') break;
      seenRunning = Date.now() - started;
      expect(row.lease_owner).toBe(runner.instanceId);
      expect(new Date(row.lease_expires_at).getTime()).toBeGreaterThan(Date.now() - 200);
    }
    // Swept while running for well over twice the 1 s lease, and never taken for dead.
    expect(seenRunning).toBeGreaterThan(2500);
    await until(async () => (await sessionRow(ds, id)).status !== 'running');
    const row = await sessionRow(ds, id);
    expect(row).toMatchObject({ status: 'completed', lease_owner: null, lease_expires_at: null });
    const stored = await storedEvents(ds, id);
    expect(row.final_event_id).toBe(`1-${stored.length}`);
    expect(stored[stored.length - 1].type).toBe('research_complete');
  });

  it("stops a run that lost its lease to a sweep elsewhere, and adds nothing after that sweep's terminal event", async () => {
    const admin = await slowTeam(800);
    const id = `lost-${Date.now()}`;
    await runs.start(admin, id, { query: 'A run whose lease is taken over' });
    await until(async () => (await storedEvents(ds, id)).length >= 4);
    await new Promise((r) => setTimeout(r, 150)); // inside the first agent call: nothing is being written
    // What another instance's sweep does once it sees the lease expired (here without waiting for it).
    expect(
      await recovery.interrupt(
        { id, teamId: admin.teamId, userId: admin.id, runNo: 1, currentPhase: 'planning' },
        'interrupted',
        true,
      ),
    ).toBe(true);
    await until(() => !runner.isRunningHere(`research:${id}:1`));
    await new Promise((r) => setTimeout(r, 300));
    const row = await sessionRow(ds, id);
    expect(row).toMatchObject({ status: 'failed', error: { code: 'INTERRUPTED' } });
    const stored = await storedEvents(ds, id);
    expect(stored.filter((e) => e.type === 'error' || e.type === 'research_complete')).toHaveLength(1);
    expect(stored[stored.length - 1].type).toBe('error');
    expect(row.final_event_id).toBe(`1-${stored[stored.length - 1].seq}`);
    const frames = (await runFrames(streams, admin, id))!;
    expect(frames[frames.length - 1]).toMatchObject({
      type: 'error',
      id: row.final_event_id,
      data: { code: 'INTERRUPTED' },
    });
  });

  it('gives the terminal event the next seq when an event of the dying run lands at the seq the sweep picked', async () => {
    const user = fakeUser();
    const repo = t.app.get(ResearchSessionRepository);
    const real = repo.interruptRun.bind(repo);
    // Installed before the run exists: the runner's own periodic sweep may find the run first (it joins the sweep
    // below), and it must meet the same race.
    const spy = jest.spyOn(repo, 'interruptRun').mockImplementationOnce(async (...args) => {
      const seq = await real(...args);
      // The run's last write, in flight when the session row changed, commits now at that very seq.
      await ds.query(
        `INSERT INTO research_events (session_id, team_id, user_id, run_no, seq, type, data) VALUES ($1, $2, $3, 1, $4, 'research_progress', '{"phase":"researching"}')`,
        [id, user.teamId, user.id, seq],
      );
      return seq;
    });
    const id = await insertRun(ds, log, { user, inLog: 3 });
    try {
      expect(await runner.sweep('research')).toBeGreaterThanOrEqual(1);
    } finally {
      spy.mockRestore();
    }
    expect((await storedEvents(ds, id)).map((e) => [e.seq, e.type])).toEqual([
      [1, 'research_started'],
      [2, 'research_progress'],
      [3, 'agent_start'],
      [4, 'research_progress'],
      [5, 'error'],
    ]);
    expect((await sessionRow(ds, id)).final_event_id).toBe('1-5');
    const frames = (await runFrames(streams, user, id, '1-3'))!;
    expect(frames.map((f) => [f.id, f.type])).toEqual([
      [undefined, 'connection'],
      ['1-4', 'research_progress'],
      ['1-5', 'error'],
    ]);
  });

  it('cancels a run whose process died at once: cancelled, with its terminal event', async () => {
    const user = fakeUser();
    const id = await insertRun(ds, log, { user, inLog: 3 });
    const res = await runs.cancel(user, id);
    expect(res.cancelled).toBe(true);
    expect(await sessionRow(ds, id)).toMatchObject({
      status: 'cancelled',
      error: { code: 'CANCELLED' },
      final_event_id: '1-4',
    });
    const frames = (await runFrames(streams, user, id, '1-3'))!;
    expect(frames.map((f) => [f.id, f.type])).toEqual([
      [undefined, 'connection'],
      ['1-4', 'error'],
    ]);
    expect(frames[1].data).toMatchObject({ status: 'cancelled', code: 'CANCELLED' });
  });

  it('finishes every running run, whatever its lease, in the boot sweep of a single instance (no Redis)', async () => {
    const user = fakeUser();
    const id = await insertRun(ds, log, { user, leaseOwner: 'research-before-restart', leaseInSec: 120 });
    expect(await runner.sweep('research', { ignoreLease: true })).toBeGreaterThanOrEqual(1);
    expect(await sessionRow(ds, id)).toMatchObject({
      status: 'failed',
      error: { code: 'INTERRUPTED' },
      final_event_id: '1-4',
    });
  });
});
