import { ResearchRetentionService } from 'src/research/streams/research-retention.service';
import { ResearchStreamsService } from 'src/research/streams/research-streams.service';
import { StreamLog } from 'src/streaming/stream-log';
import { DataSource } from 'typeorm';
import { earlyEvents, FakeEvent, insertRun, sessionRow, storedEvents } from 'test/factories/research.factory';
import { fakeUser, runFrames } from 'test/medium/research/research-kit';
import { withTestApp } from 'test/utils/test-app';

const REPORT = '# Research report: q\n\n## Executive summary\nDone.\n';

/** A whole run: the early events, then its terminal event. */
const finishedEvents = (id: string, terminal: FakeEvent): FakeEvent[] => [...earlyEvents(id), terminal];
const complete = (id: string): FakeEvent => ({
  type: 'research_complete',
  data: { status: 'completed', progress: 1, final_report: REPORT, sessionId: id, timestamp: new Date().toISOString() },
});

describe('Research event retention (medium: real database)', () => {
  let ds: DataSource;
  let log: StreamLog;
  let retention: ResearchRetentionService;
  let streams: ResearchStreamsService;
  const user = fakeUser();
  const ids: Record<string, string> = {};

  const t = withTestApp({ env: { RESEARCH_EVENTS_RETENTION_DAYS: '7' } });
  beforeAll(async () => {
    ds = t.app.get(DataSource);
    log = t.app.get(StreamLog);
    retention = t.app.get(ResearchRetentionService);
    streams = t.app.get(ResearchStreamsService);
    const finished = {
      user,
      status: 'completed' as const,
      leaseOwner: null,
      leaseInSec: null,
      progress: 1,
      phase: 'completed',
      finalReport: REPORT,
      finalEventId: '1-4',
    };
    ids.old = `old-${Date.now()}`;
    await insertRun(ds, log, {
      ...finished,
      id: ids.old,
      events: finishedEvents(ids.old, complete(ids.old)),
      finishedDaysAgo: 8,
      eventsDaysAgo: 8,
    });
    ids.recent = `recent-${Date.now()}`;
    await insertRun(ds, log, {
      ...finished,
      id: ids.recent,
      events: finishedEvents(ids.recent, complete(ids.recent)),
      finishedDaysAgo: 6,
      eventsDaysAgo: 6,
    });
    ids.failed = `failed-${Date.now()}`;
    const error = { code: 'UPSTREAM_FAILED', message: 'The provider failed' };
    await insertRun(ds, log, {
      ...finished,
      id: ids.failed,
      status: 'failed',
      progress: 0.4,
      phase: 'failed',
      finalReport: null,
      error,
      events: finishedEvents(ids.failed, {
        type: 'error',
        data: { status: 'failed', ...error, agents: [], sessionId: ids.failed, timestamp: new Date().toISOString() },
      }),
      finishedDaysAgo: 30,
      eventsDaysAgo: 30,
    });
    // Running for ten days (a live lease): its old events are what a resume needs.
    ids.running = `running-${Date.now()}`;
    await insertRun(ds, log, {
      user,
      id: ids.running,
      leaseOwner: 'research-alive',
      leaseInSec: 600,
      eventsDaysAgo: 10,
    });
  });

  it('deletes the events of sessions finished more than RESEARCH_EVENTS_RETENTION_DAYS ago and keeps the rest', async () => {
    const result = await retention.purge();
    expect(result.events).toBeGreaterThanOrEqual(8);
    expect(await storedEvents(ds, ids.old)).toEqual([]);
    expect(await storedEvents(ds, ids.failed)).toEqual([]);
    expect(await storedEvents(ds, ids.recent)).toHaveLength(4);
    expect(await storedEvents(ds, ids.running)).toHaveLength(3);
    // The sessions themselves (report, error, terminal id) stay.
    expect(await sessionRow(ds, ids.old)).toMatchObject({ status: 'completed', final_event_id: '1-4' });
    const [{ final_report }] = await ds.query(`SELECT final_report FROM research_sessions WHERE id = $1`, [ids.old]);
    expect(final_report).toBe(REPORT);
    expect(await retention.purge()).toEqual({ events: 0 });
  });

  it('ends a resume after retention with the terminal event rebuilt from the session, under its original id', async () => {
    const fresh = (await runFrames(streams, user, ids.old))!;
    expect(fresh.map((f) => [f.id, f.type])).toEqual([
      [undefined, 'connection'],
      ['1-4', 'research_complete'],
    ]);
    expect(fresh[1].data).toMatchObject({ status: 'completed', progress: 1, final_report: REPORT, sessionId: ids.old });
    const resumed = (await runFrames(streams, user, ids.old, '1-2'))!;
    expect(resumed.map((f) => [f.id, f.type])).toEqual([
      [undefined, 'connection'],
      ['1-4', 'research_complete'],
    ]);
    // The client already has the terminal event: nothing more (204 over HTTP).
    expect(await runFrames(streams, user, ids.old, '1-4')).toBeNull();

    const failed = (await runFrames(streams, user, ids.failed))!;
    expect(failed.map((f) => [f.id, f.type])).toEqual([
      [undefined, 'connection'],
      ['1-4', 'error'],
    ]);
    expect(failed[1].data).toMatchObject({
      status: 'failed',
      code: 'UPSTREAM_FAILED',
      message: 'The provider failed',
      agents: [],
    });
  });

  it('replays a session still within retention exactly from its stored events', async () => {
    const frames = (await runFrames(streams, user, ids.recent, '1-2'))!;
    expect(frames.map((f) => [f.id, f.type])).toEqual([
      [undefined, 'connection'],
      ['1-3', 'agent_start'],
      ['1-4', 'research_complete'],
    ]);
  });

  it('never deletes the events of a running session, however old', async () => {
    await retention.purge(new Date(Date.now() + 365 * 24 * 3600 * 1000));
    expect(await storedEvents(ds, ids.running)).toHaveLength(3);
    expect(await storedEvents(ds, ids.recent)).toEqual([]);
  });
});
