import { firstValueFrom, Observable, of, throwError, toArray } from 'rxjs';
import { MemoryStreamLog } from 'src/streaming/memory-stream-log';
import { resumableStream, ResumeSource } from 'src/streaming/resumable-stream';
import { StreamCursor } from 'src/streaming/stream-cursor';
import { StreamEvent } from 'src/streaming/stream-event';
import { StreamGapError, StreamLogClosedError, StreamLogUnavailableError } from 'src/streaming/streaming.errors';

const db = (events: Partial<StreamEvent>[]) => of(...(events as StreamEvent[]));
const ids = (events: Partial<StreamEvent>[]) => events.map((e) => e.id);

describe('resumableStream', () => {
  let log: MemoryStreamLog;
  beforeEach(() => (log = new MemoryStreamLog()));
  afterEach(() => log.onModuleDestroy());

  async function finishedStream(key: string, n: number): Promise<void> {
    for (let i = 1; i <= n; i++) await log.append(key, 'e', { i }, i * 10);
    await log.finish(key);
  }

  it('replays after the cursor from the log and counts a resume as served by the log', async () => {
    await finishedStream('k', 5);
    const resumed: ResumeSource[] = [];
    const fromDatabase = jest.fn(() => db([]));
    const out = await firstValueFrom(
      resumableStream(log, {
        key: 'k',
        after: StreamCursor.parse('20-2'),
        fromDatabase,
        onResumed: (s) => resumed.push(s),
      }).pipe(toArray()),
    );
    expect(ids(out)).toEqual(['30-3', '40-4', '50-5']);
    expect(fromDatabase).not.toHaveBeenCalled();
    expect(resumed).toEqual(['log']);
  });

  it("rebuilds from the database, after the client's cursor, when the log does not hold the stream", async () => {
    const resumed: ResumeSource[] = [];
    const fromDatabase = jest.fn((last: StreamCursor | null) =>
      db([{ id: `${last?.offset}-${(last?.seq ?? 0) + 1}`, type: 'done' }]),
    );
    const out = await firstValueFrom(
      resumableStream(log, {
        key: 'gone',
        after: { offset: 7, seq: 3 },
        fromDatabase,
        onResumed: (s) => resumed.push(s),
      }).pipe(toArray()),
    );
    expect(fromDatabase).toHaveBeenCalledWith({ offset: 7, seq: 3 });
    expect(ids(out)).toEqual(['7-4']);
    expect(resumed).toEqual(['database']);
  });

  it('serves the stream from the database when the log cannot be reached (Redis down), not an error', async () => {
    class DownLog extends MemoryStreamLog {
      follow(key: string): Observable<StreamEvent> {
        return throwError(() => new StreamLogUnavailableError(key));
      }
    }
    const down = new DownLog();
    const resumed: ResumeSource[] = [];
    const fromDatabase = jest.fn((last: StreamCursor | null) =>
      db([{ id: `${last?.offset}-${(last?.seq ?? 0) + 1}`, type: 'done' }]),
    );
    const out = await firstValueFrom(
      resumableStream(down, {
        key: 'k',
        after: { offset: 5, seq: 2 },
        fromDatabase,
        onResumed: (s) => resumed.push(s),
      }).pipe(toArray()),
    );
    expect(fromDatabase).toHaveBeenCalledWith({ offset: 5, seq: 2 });
    expect(ids(out)).toEqual(['5-3']);
    expect(resumed).toEqual(['database']);
    down.onModuleDestroy();
  });

  it('hands over to the database after the last event delivered when `check` finds a gap, and stops reading the log', async () => {
    await log.append('k', 'e', {}, 10);
    await log.append('k', 'e', {}, 20);
    await log.append('k', 'gap', {}, 99);
    await log.append('k', 'e', {}, 120);
    await log.finish('k');
    const fromDatabase = jest.fn((last: StreamCursor | null) =>
      db([{ id: `db-after-${StreamCursor.format(last!)}`, type: 'rest' }]),
    );
    const fallbacks: Error[] = [];
    const out = await firstValueFrom(
      resumableStream(log, {
        key: 'k',
        after: null,
        check: (e) => {
          if (e.type === 'gap') throw new StreamGapError('k', null, 'test');
          return e;
        },
        fromDatabase,
        onFallback: (err) => fallbacks.push(err),
      }).pipe(toArray()),
    );
    expect(ids(out)).toEqual(['10-1', '20-2', 'db-after-20-2']);
    expect(fromDatabase).toHaveBeenCalledTimes(1);
    expect(fallbacks[0]).toBeInstanceOf(StreamGapError);
  });

  it('drops what `check` returns null for and never moves the cursor back', async () => {
    await log.append('k', 'e', {}, 10);
    await log.append('k', 'seen', {}, 10);
    await log.append('k', 'e', {}, 30);
    await log.finish('k');
    const out = await firstValueFrom(
      resumableStream(log, {
        key: 'k',
        after: null,
        check: (e) => (e.type === 'seen' ? null : e),
        fromDatabase: () => db([]),
      }).pipe(toArray()),
    );
    expect(ids(out)).toEqual(['10-1', '30-3']);
  });

  it('passes other errors on (a shutdown is not served from the database)', async () => {
    await log.open('k');
    const fromDatabase = jest.fn(() => db([]));
    const stream = resumableStream(log, { key: 'k', after: null, fromDatabase });
    const ended = new Promise<unknown>((resolve) =>
      stream.subscribe({ error: resolve, complete: () => resolve('complete') }),
    );
    await new Promise((r) => setTimeout(r, 10));
    log.onModuleDestroy();
    expect(await ended).toBeInstanceOf(StreamLogClosedError);
    expect(fromDatabase).not.toHaveBeenCalled();
  });

  it('does not count a stream from the start as a resume', async () => {
    await finishedStream('k', 2);
    const onResumed = jest.fn();
    await firstValueFrom(
      resumableStream(log, {
        key: 'k',
        after: null,
        fromDatabase: () => new Observable<StreamEvent>((s) => s.complete()),
        onResumed,
      }).pipe(toArray()),
    );
    expect(onResumed).not.toHaveBeenCalled();
  });
});
