import { BehaviorSubject, Observable } from 'rxjs';
import { parseEventId, StreamEvent } from 'src/streaming/stream-event';
import { FollowOptions, StreamCursor, StreamLog } from 'src/streaming/stream-log';
import {
  SlowConsumerError,
  StreamFinishedError,
  StreamOffsetError,
  StreamTruncatedError,
  StreamUnknownError,
} from 'src/streaming/streaming.errors';

/**
 * The behaviour every StreamLog implementation must have, run against each one (memory in
 * src/streaming/memory-stream-log.spec.ts, Redis in test/medium/streaming/redis-stream-log.spec.ts).
 * `producer` appends, `consumer` reads and follows: for Redis they are two instances ("two processes").
 */
export interface StreamLogHarness {
  producer: StreamLog;
  consumer: StreamLog;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Environment overrides for loadConfig (e.g. STREAM_RETENTION_SEC). */
  env?: Record<string, string>;
  /** Per-stream cap (memory: maxEventsPerStream; Redis: MAXLEN ~). */
  cap?: number;
}

export interface BehaviourOptions {
  /** Trials of the hand-over property. */
  trials: number;
}

export type HarnessFactory = (options?: HarnessOptions) => Promise<StreamLogHarness>;

export interface Collected {
  got: StreamEvent[];
  error?: unknown;
}

export function collect(
  obs: Observable<StreamEvent>,
  onEvent?: (e: StreamEvent, got: StreamEvent[]) => void,
): Promise<Collected> {
  return new Promise((resolve) => {
    const got: StreamEvent[] = [];
    obs.subscribe({
      next: (e) => {
        got.push(e);
        onEvent?.(e, got);
      },
      error: (error: unknown) => resolve({ got, error }),
      complete: () => resolve({ got }),
    });
  });
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Small seeded PRNG (mulberry32): the property test makes the same choices on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ids = (events: StreamEvent[]): string[] => events.map((e) => e.id);
const cursor = (e: StreamEvent): StreamCursor => ({ offset: e.offset, seq: e.seq });
let keyCounter = 0;
const newKey = (): string => `stream-${process.pid}-${Date.now()}-${++keyCounter}`;

async function appendMany(log: StreamLog, key: string, n: number, baseOffset = 0): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for (let i = 0; i < n; i++) out.push(await log.append(key, 'message', { i }, baseOffset + i * 2));
  return out;
}

export function describeStreamLogBehaviour(name: string, create: HarnessFactory, options: BehaviourOptions): void {
  describe(`StreamLog behaviour (${name})`, () => {
    let h: StreamLogHarness;
    beforeEach(async () => {
      h = await create();
    });
    afterEach(async () => {
      await h.close();
    });

    it('assigns seq from 1, monotonic per stream, with ids `${offset}-${seq}` and the previous offset by default', async () => {
      const key = newKey();
      const a = await h.producer.append(key, 'status', { s: 'start' });
      const b = await h.producer.append(key, 'message', { content: 'Hi' }, 2);
      const c = await h.producer.append(key, 'status', { s: 'x' });
      const other = await h.producer.append(newKey(), 'status', {});
      expect([a, b, c].map((e) => [e.id, e.seq, e.offset])).toEqual([
        ['0-1', 1, 0],
        ['2-2', 2, 2],
        ['2-3', 3, 2],
      ]);
      expect(c.data).toEqual({ s: 'x' });
      expect(other.seq).toBe(1);
    });

    it('refuses an offset below the previous one', async () => {
      const key = newKey();
      await h.producer.append(key, 'message', {}, 5);
      await expect(h.producer.append(key, 'message', {}, 4)).rejects.toBeInstanceOf(StreamOffsetError);
      expect((await h.producer.append(key, 'message', {}, 5)).seq).toBe(2);
    });

    it('refuses appends after finish, and finish is idempotent', async () => {
      const key = newKey();
      await h.producer.append(key, 'done', {});
      await h.producer.finish(key);
      await h.producer.finish(key);
      await expect(h.producer.append(key, 'message', {})).rejects.toBeInstanceOf(StreamFinishedError);
      const r = await h.consumer.read(key, null);
      expect(r).toMatchObject({ finished: true, known: true, truncated: false, hasMore: false });
      expect(ids(r.events)).toEqual(['0-1']);
    });

    it('finishes a stream with its terminal event in one append: live followers complete after it', async () => {
      const key = newKey();
      await h.producer.open(key);
      const followed = collect(h.consumer.follow(key, null));
      await waitFor(async () => (await h.consumer.stats()).activeFollowers >= 1);
      await h.producer.append(key, 'message', { content: 'Hi' }, 2, { expectSeq: 0 });
      const done = await h.producer.append(key, 'done', { ok: true }, 2, { expectSeq: 1, finish: true });
      expect(done.id).toBe('2-2');
      const f = await followed;
      expect(f.error).toBeUndefined();
      expect(ids(f.got)).toEqual(['2-1', '2-2']);
      await expect(h.producer.append(key, 'message', {})).rejects.toBeInstanceOf(StreamFinishedError);
      await h.producer.finish(key);
      const r = await h.consumer.read(key, null);
      expect(r).toMatchObject({ finished: true, known: true, truncated: false, hasMore: false });
      expect(ids(r.events)).toEqual(['2-1', '2-2']);
      expect(ids((await collect(h.consumer.follow(key, { offset: 2, seq: 1 }))).got)).toEqual(['2-2']);
    });

    it('replays exactly the events after any id, in pages when limited', async () => {
      const key = newKey();
      const all = await appendMany(h.producer, key, 25);
      for (let cut = 0; cut <= all.length; cut++) {
        const r = await h.consumer.read(key, cut === 0 ? null : cursor(all[cut - 1]));
        expect(ids(r.events)).toEqual(ids(all.slice(cut)));
        expect(r).toMatchObject({ known: true, finished: false, truncated: false, hasMore: false });
      }
      const page = await h.consumer.read(key, cursor(all[4]), { limit: 10 });
      expect(ids(page.events)).toEqual(ids(all.slice(5, 15)));
      expect(page.hasMore).toBe(true);
    });

    it('reports a stream it does not hold as unknown on read, and follow errors with StreamUnknownError', async () => {
      const key = newKey();
      expect(await h.consumer.read(key, null)).toMatchObject({ known: false, events: [] });
      const r = await collect(h.consumer.follow(key, null));
      expect(r.error).toBeInstanceOf(StreamUnknownError);
      expect((r.error as StreamUnknownError).key).toBe(key);
    });

    it('lets a follower of an opened stream wait for its first events', async () => {
      const key = newKey();
      await h.producer.open(key);
      await h.producer.open(key);
      const followed = collect(h.consumer.follow(key, null));
      await waitFor(async () => (await h.consumer.stats()).followersByKey[key] === 1);
      const all = await appendMany(h.producer, key, 3);
      await h.producer.finish(key);
      const r = await followed;
      expect(r.error).toBeUndefined();
      expect(ids(r.got)).toEqual(ids(all));
    });

    it('completes follow after the last event, for live followers and for finished streams', async () => {
      const key = newKey();
      const first = await appendMany(h.producer, key, 2);
      const live = collect(h.consumer.follow(key, null));
      const last = await h.producer.append(key, 'done', { ok: true }, 10);
      await h.producer.finish(key);
      const replayed = await collect(h.consumer.follow(key, cursor(first[0])));
      expect(ids((await live).got)).toEqual(ids([...first, last]));
      expect(ids(replayed.got)).toEqual(ids([first[1], last]));
      expect(replayed.error).toBeUndefined();
      expect(ids((await collect(h.consumer.follow(key, cursor(last)))).got)).toEqual([]);
    });

    it('hands over from replay to live with no loss or duplicates while a producer appends concurrently', async () => {
      const rnd = prng(0x5eed);
      for (let trial = 0; trial < options.trials; trial++) {
        const key = newKey();
        const produced: StreamEvent[] = [];
        const runs: Promise<Collected & { from: number }>[] = [];
        const startFollower = (): void => {
          const from = Math.floor(rnd() * (produced.length + 1));
          const after = from === 0 ? null : cursor(produced[from - 1]);
          const own = prng(Math.floor(rnd() * 2 ** 31));
          const flaky = own() < 0.3;
          const paused = new BehaviorSubject(false);
          const opts: FollowOptions = flaky ? { paused, queueMax: 100_000 } : {};
          const onEvent = (): void => {
            if (flaky && own() < 0.2) {
              paused.next(true);
              setTimeout(() => paused.next(false), Math.floor(own() * 3));
            }
          };
          runs.push(collect(h.consumer.follow(key, after, opts), onEvent).then((r) => ({ ...r, from })));
        };
        await h.producer.open(key);
        const n = 10 + Math.floor(rnd() * 50);
        let offset = 0;
        for (let i = 0; i < n; i++) {
          if (rnd() < 0.2) startFollower();
          offset += Math.floor(rnd() * 4);
          const pending = h.producer.append(key, i === n - 1 ? 'done' : 'message', { i }, offset);
          if (rnd() < 0.2) startFollower();
          produced.push(await pending);
          const pause = rnd();
          if (pause < 0.2) await new Promise((r) => setTimeout(r, Math.floor(pause * 10)));
          else if (pause < 0.5) await new Promise((r) => setImmediate(r));
        }
        if (rnd() < 0.5) startFollower();
        const finishing = h.producer.finish(key);
        if (rnd() < 0.5) startFollower();
        await finishing;
        startFollower();
        for (const r of await Promise.all(runs)) {
          expect(r.error).toBeUndefined();
          expect(ids(r.got)).toEqual(ids(produced.slice(r.from)));
        }
      }
    });

    it('drops a slow consumer with the last id it received, and resuming from that id gives exactly the rest', async () => {
      const key = newKey();
      const paused = new BehaviorSubject(false);
      const all = await appendMany(h.producer, key, 3);
      const followed = collect(h.consumer.follow(key, null, { paused, queueMax: 5 }), (_e, got) => {
        if (got.length === 3) paused.next(true);
      });
      await waitFor(async () => (await h.consumer.stats()).followersByKey[key] === 1);
      for (let i = 0; i < 10; i++) all.push(await h.producer.append(key, 'message', { i }, 100 + i));
      const r = await followed;
      expect(r.error).toBeInstanceOf(SlowConsumerError);
      const err = r.error as SlowConsumerError;
      expect(ids(r.got)).toEqual(ids(all.slice(0, 3)));
      expect(err.lastId).toBe(all[2].id);
      const stats = await h.consumer.stats();
      expect(stats.droppedSlowConsumers).toBe(1);
      expect(stats.followersByKey[key]).toBeUndefined();
      await h.producer.finish(key);
      const resumed = await collect(h.consumer.follow(key, parseEventId(err.lastId)));
      expect(resumed.error).toBeUndefined();
      expect(ids(resumed.got)).toEqual(ids(all.slice(3)));
    });

    it('holds live events for a paused consumer within its bound and delivers all of them on resume', async () => {
      const key = newKey();
      await h.producer.open(key);
      const paused = new BehaviorSubject(true);
      const followed = collect(h.consumer.follow(key, null, { paused, queueMax: 5 }));
      await waitFor(async () => (await h.consumer.stats()).followersByKey[key] === 1);
      const all = await appendMany(h.producer, key, 5);
      await waitFor(async () => (await h.consumer.stats()).queuedEvents === 5);
      paused.next(false);
      all.push(...(await appendMany(h.producer, key, 2, 100)));
      await h.producer.finish(key);
      const r = await followed;
      expect(r.error).toBeUndefined();
      expect(ids(r.got)).toEqual(ids(all));
    });

    it('lets a follower unsubscribe without affecting the producer or the other followers', async () => {
      const key = newKey();
      await h.producer.open(key);
      const leaving = h.consumer.follow(key, null).subscribe();
      const staying = collect(h.consumer.follow(key, null));
      await waitFor(async () => (await h.consumer.stats()).followersByKey[key] === 2);
      const all = await appendMany(h.producer, key, 3);
      leaving.unsubscribe();
      expect((await h.consumer.stats()).followersByKey[key]).toBe(1);
      all.push(await h.producer.append(key, 'done', {}, 50));
      await h.producer.finish(key);
      expect(ids((await staying).got)).toEqual(ids(all));
      expect((await h.consumer.stats()).activeFollowers).toBe(0);
    });

    it('reports streams, events, bytes and followers per key in stats', async () => {
      const key = newKey();
      await appendMany(h.producer, key, 4);
      const sub = h.consumer.follow(key, null).subscribe();
      await waitFor(async () => (await h.consumer.stats()).followersByKey[key] === 1);
      const s = await h.producer.stats();
      expect(s.streamsHeld).toBeGreaterThanOrEqual(1);
      expect(s.eventsHeld).toBeGreaterThanOrEqual(4);
      expect(s.approxBytes).toBeGreaterThan(0);
      const c = await h.consumer.stats();
      expect(c).toMatchObject({ activeFollowers: 1, droppedSlowConsumers: 0, queuedEvents: 0 });
      sub.unsubscribe();
      expect((await h.consumer.stats()).activeFollowers).toBe(0);
    });

    it('delivers control messages to subscribers, and not after unsubscribe', async () => {
      const key = newKey();
      const got: [string, unknown][] = [];
      const off = h.consumer.onControl((k, m) => got.push([k, m]));
      await waitFor(async () => {
        await h.producer.publishControl(key, { type: 'ping' });
        return got.length > 0;
      });
      await h.producer.publishControl(key, { type: 'cancel', reason: 'user' });
      await waitFor(() => got.some(([, m]) => (m as { type: string }).type === 'cancel'));
      expect(got.find(([, m]) => (m as { type: string }).type === 'cancel')).toEqual([
        key,
        { type: 'cancel', reason: 'user' },
      ]);
      off();
      const before = got.length;
      await h.producer.publishControl(key, { type: 'cancel' });
      await new Promise((r) => setTimeout(r, 50));
      expect(got.length).toBe(before);
    });
  });

  describe(`StreamLog retention and cap (${name})`, () => {
    it('expires a finished stream streamRetentionSec after finish', async () => {
      const h = await create({ env: { STREAM_RETENTION_SEC: '1' } });
      try {
        const key = newKey();
        await appendMany(h.producer, key, 2);
        await h.producer.finish(key);
        expect((await h.consumer.read(key, null)).known).toBe(true);
        await waitFor(async () => !(await h.consumer.read(key, null)).known, 5000);
        expect((await collect(h.consumer.follow(key, null))).error).toBeInstanceOf(StreamUnknownError);
      } finally {
        await h.close();
      }
    });

    it('reports truncation when the cap dropped events after the requested id', async () => {
      const h = await create({ cap: 100 });
      try {
        const key = newKey();
        const all = await appendMany(h.producer, key, 1000);
        const r = await h.consumer.read(key, null);
        expect(r.truncated).toBe(true);
        expect(r.events[0].seq).toBeGreaterThan(1);
        expect(ids(r.events)).toEqual(ids(all.slice(r.events[0].seq - 1)));
        const f = await collect(h.consumer.follow(key, cursor(all[0])));
        expect(f.error).toBeInstanceOf(StreamTruncatedError);
        expect((f.error as StreamTruncatedError).firstAvailableId).toBe(r.events[0].id);
        const fromKept = await h.consumer.read(key, cursor(r.events[0]));
        expect(fromKept.truncated).toBe(false);
        expect(ids(fromKept.events)).toEqual(ids(r.events.slice(1)));
      } finally {
        await h.close();
      }
    });
  });
}
