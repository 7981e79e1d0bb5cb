import { Subject } from 'rxjs';
import { StreamEvent } from 'src/streaming/stream-event';
import { LiveHandle, LiveSignal } from 'src/streaming/stream-follower';
import { ReadResult, StreamCursor } from 'src/streaming/stream-log';

interface LocalStream {
  subject: Subject<LiveSignal>;
  /** Every event this process appended to the stream, oldest first; null once more than `maxHeld` were. */
  events: StreamEvent[] | null;
  /** Seq of the last event appended here (0: none). */
  lastSeq: number;
}

const NO_WAIT = Promise.resolve();

/** Events after `c` in the log's order (ids compare by offset, then seq: `XRANGE (<id> +`). */
const after = (e: StreamEvent, c: StreamCursor | null): boolean =>
  c === null || e.offset > c.offset || (e.offset === c.offset && e.seq > c.seq);

/**
 * The streams whose producer runs in this process (a chat reply's job, from `open(key, { local: true })` until
 * the stream finishes or the job ends), so that the followers of this process get their events without a trip
 * through Redis: the events the producer's appends wrote, in the order Redis acknowledged them (a producer
 * awaits each append before the next), and the replay of a new follower from the events held here. Other
 * instances still follow the stream through Redis (the scripts publish every entry as before).
 *
 * Per reply this saves the follower's SUBSCRIBE, its first XRANGE and its UNSUBSCRIBE, and per delta the
 * pub/sub message (a socket read, a decode and a JSON parse in this process). Whatever this process cannot
 * vouch for ends the local stream with `gone`, and its followers go to the database (`resumableStream`),
 * which holds the final state first: an append or finish that failed (Redis lost the stream, another
 * writer, the connection down past the command timeout), a re-seed, the producer's job ending without a
 * finish. The held copy is dropped past `maxHeld` events (replays then read Redis).
 */
export class LocalStreams {
  private readonly streams = new Map<string, LocalStream>();

  constructor(private readonly maxHeld: number) {}

  get size(): number {
    return this.streams.size;
  }

  has(key: string): boolean {
    return this.streams.has(key);
  }

  /** The producer of `key` runs here from now on. */
  open(key: string): void {
    if (!this.streams.has(key)) this.streams.set(key, { subject: new Subject<LiveSignal>(), events: [], lastSeq: 0 });
  }

  /**
   * What the log answered to the open: the seq it already holds (0: a new stream), -1 when it is finished.
   * A finished stream is not produced here; for one that holds events already, only live delivery is local.
   */
  opened(key: string, heldSeq: number): void {
    const s = this.streams.get(key);
    if (!s || heldSeq === 0) return;
    if (heldSeq < 0 || !Number.isSafeInteger(heldSeq)) return this.drop(key);
    if (s.lastSeq < heldSeq) {
      s.events = null;
      s.lastSeq = heldSeq;
    }
  }

  /** An append of this process was acknowledged. */
  appended(key: string, event: StreamEvent): void {
    const s = this.streams.get(key);
    if (!s) return;
    s.lastSeq = event.seq;
    if (s.events) {
      if (s.events.length < this.maxHeld) s.events.push(event);
      else s.events = null;
    }
    s.subject.next({ kind: 'event', event });
  }

  /** The stream finished (after the last event appended here): its followers complete, later ones read Redis. */
  finished(key: string): void {
    const s = this.streams.get(key);
    if (!s) return;
    this.streams.delete(key);
    s.subject.next({ kind: 'finish', lastSeq: s.lastSeq });
    s.subject.complete();
  }

  /** This process can no longer vouch for the stream: its followers go to the database (`gone`). */
  drop(key: string): void {
    const s = this.streams.get(key);
    if (!s) return;
    this.streams.delete(key);
    s.subject.next({ kind: 'gone' });
    s.subject.complete();
  }

  /** A live handle on a local stream (no subscription to wait for), or null when its producer is not here. */
  live(key: string): LiveHandle | null {
    const s = this.streams.get(key);
    if (!s) return null;
    return { signals: s.subject.asObservable(), ready: NO_WAIT, release: () => undefined };
  }

  /** A replay from the held events, or null when they are not all held here (then Redis answers). */
  read(key: string, cursor: StreamCursor | null, limit?: number): ReadResult | null {
    const events = this.streams.get(key)?.events;
    if (!events) return null;
    let i = 0;
    // Most reads are a new follower's (from the start) or a catch-up near the end.
    if (cursor !== null) {
      i = events.length;
      while (i > 0 && after(events[i - 1], cursor)) i--;
    }
    const max = limit !== undefined && Number.isFinite(limit) ? limit : Infinity;
    const out = events.slice(i, i + Math.min(max, events.length - i));
    const hasMore = events.length - i > out.length;
    const truncated = out.length > 0 && out[0].seq > (cursor?.seq ?? 0) + 1;
    return { events: out, finished: false, known: true, truncated, hasMore };
  }

  /** Shutdown: every follower here is told `closed`. */
  stop(): void {
    for (const s of this.streams.values()) {
      s.subject.next({ kind: 'closed' });
      s.subject.complete();
    }
    this.streams.clear();
  }
}
