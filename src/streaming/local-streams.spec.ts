import { LocalStreams } from 'src/streaming/local-streams';
import { LiveSignal } from 'src/streaming/stream-follower';
import { StreamEvent } from 'src/streaming/stream-event';

const ev = (offset: number, seq: number): StreamEvent => ({
  id: `${offset}-${seq}`,
  offset,
  seq,
  type: 'message',
  data: { n: seq },
});

function signalsOf(local: LocalStreams, key: string): LiveSignal[] {
  const got: LiveSignal[] = [];
  local.live(key)!.signals.subscribe((s) => got.push(s));
  return got;
}

describe('LocalStreams', () => {
  it('knows only the streams opened here, and forgets them when they finish or are dropped', () => {
    const local = new LocalStreams(100);
    expect(local.live('a')).toBeNull();
    expect(local.read('a', null)).toBeNull();
    local.open('a');
    local.open('b');
    expect(local.size).toBe(2);
    local.finished('a');
    local.drop('b');
    expect(local.size).toBe(0);
    expect(local.live('a')).toBeNull();
  });

  it('signals each event appended here, then the finish after the last one', () => {
    const local = new LocalStreams(100);
    local.open('k');
    const got = signalsOf(local, 'k');
    local.appended('k', ev(2, 1));
    local.appended('k', ev(5, 2));
    local.appended('other', ev(1, 1));
    local.finished('k');
    expect(got).toEqual([
      { kind: 'event', event: ev(2, 1) },
      { kind: 'event', event: ev(5, 2) },
      { kind: 'finish', lastSeq: 2 },
    ]);
  });

  it('replays the events after a cursor in the log order (offset, then seq), with limits', () => {
    const local = new LocalStreams(100);
    local.open('k');
    [ev(0, 1), ev(2, 2), ev(2, 3), ev(7, 4)].forEach((e) => local.appended('k', e));
    const ids = (r: ReturnType<LocalStreams['read']>) => r!.events.map((e) => e.id);
    expect(ids(local.read('k', null))).toEqual(['0-1', '2-2', '2-3', '7-4']);
    expect(ids(local.read('k', { offset: 2, seq: 2 }))).toEqual(['2-3', '7-4']);
    expect(ids(local.read('k', { offset: 3, seq: 1 }))).toEqual(['7-4']);
    expect(local.read('k', { offset: 9, seq: 9 })).toEqual({
      events: [],
      finished: false,
      known: true,
      truncated: false,
      hasMore: false,
    });
    expect(local.read('k', null, 2)).toMatchObject({ hasMore: true, truncated: false });
    expect(ids(local.read('k', null, 2))).toEqual(['0-1', '2-2']);
    // A cursor whose seq is far below the next event's (a forged or stale id) reports the jump.
    expect(local.read('k', { offset: 2, seq: 0 })).toMatchObject({ truncated: true });
  });

  it('stops answering replays past maxHeld events (Redis answers), and keeps signalling', () => {
    const local = new LocalStreams(2);
    local.open('k');
    const got = signalsOf(local, 'k');
    [ev(1, 1), ev(2, 2), ev(3, 3)].forEach((e) => local.appended('k', e));
    expect(local.read('k', null)).toBeNull();
    expect(got).toHaveLength(3);
  });

  it('does not vouch for a stream the log already held (replays from Redis) and drops a finished one', () => {
    const local = new LocalStreams(100);
    local.open('held');
    local.opened('held', 4);
    expect(local.read('held', null)).toBeNull();
    local.appended('held', ev(9, 5));
    const got = signalsOf(local, 'held');
    local.finished('held');
    expect(got).toEqual([{ kind: 'finish', lastSeq: 5 }]);

    local.open('done');
    const gone = signalsOf(local, 'done');
    local.opened('done', -1);
    expect(gone).toEqual([{ kind: 'gone' }]);
    expect(local.live('done')).toBeNull();
  });

  it('tells its followers `gone` when dropped and `closed` on shutdown', () => {
    const local = new LocalStreams(100);
    local.open('a');
    local.open('b');
    const a = signalsOf(local, 'a');
    const b = signalsOf(local, 'b');
    local.drop('a');
    local.stop();
    expect(a).toEqual([{ kind: 'gone' }]);
    expect(b).toEqual([{ kind: 'closed' }]);
    expect(local.size).toBe(0);
  });
});
