import { MemoryStreamLog } from 'src/streaming/memory-stream-log';
import { ResearchEventSink, runStreamKey } from 'src/research/runs/research-event-sink';
import { ResearchEventRepository } from 'src/research/streams/research-event.repository';

/** The sink's database side: every event stored while `running`, the terminal one always. */
function fakeEvents(state: { running: boolean }): ResearchEventRepository {
  return {
    addWhileRunning: () => Promise.resolve(state.running),
    add: () => Promise.resolve(true),
  } as unknown as ResearchEventRepository;
}

const run = { teamId: 't', userId: 'u', sessionId: 's', runNo: 1 };

describe('ResearchEventSink', () => {
  it('finishes the log after its own terminal event', async () => {
    const log = new MemoryStreamLog();
    const sink = new ResearchEventSink(log, fakeEvents({ running: true }), run);
    sink.emit('research_started', {});
    expect(await sink.end('research_complete', {}, () => Promise.resolve(true))).toBe(true);
    await sink.finish();
    const r = await log.read(runStreamKey('s', 1), null);
    expect(r.finished).toBe(true);
    expect(r.events.map((e) => e.type)).toEqual(['research_started', 'research_complete']);
  });

  it.each([
    ['the lease was lost (seal)', (sink: ResearchEventSink) => Promise.resolve(sink.seal())],
    [
      'the session row no longer runs this run',
      async (sink: ResearchEventSink) => void (await sink.end('error', {}, () => Promise.resolve(false))),
    ],
  ])(
    'leaves the log unfinished when %s: the sweep that ended the run appends its terminal event, then finishes',
    async (_name, endedElsewhere) => {
      const log = new MemoryStreamLog();
      const sink = new ResearchEventSink(log, fakeEvents({ running: true }), run);
      sink.emit('research_started', {});
      await sink.flush();
      await endedElsewhere(sink);
      await sink.finish();
      const key = runStreamKey('s', 1);
      expect((await log.read(key, null)).finished).toBe(false);
      // What the sweep does next (ResearchRunRecovery.finishLog): its terminal event is the stream's last.
      await log.append(key, 'error', { code: 'INTERRUPTED' }, 1);
      await log.finish(key);
      const r = await log.read(key, null);
      expect(r.events.map((e) => e.type)).toEqual(['research_started', 'error']);
    },
  );

  it('leaves the log unfinished when a write is refused because the run was ended elsewhere', async () => {
    const state = { running: true };
    const log = new MemoryStreamLog();
    const sink = new ResearchEventSink(log, fakeEvents(state), run);
    sink.emit('research_started', {});
    await sink.flush();
    state.running = false;
    sink.emit('research_progress', {});
    await sink.finish();
    const r = await log.read(runStreamKey('s', 1), null);
    expect(r.finished).toBe(false);
    expect(r.events.map((e) => e.type)).toEqual(['research_started']);
  });
});
