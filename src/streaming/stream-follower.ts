import { Observable, Subscriber, Subscription } from 'rxjs';
import { formatEventId, StreamEvent } from 'src/streaming/stream-event';
import { FollowOptions, ReadOptions, ReadResult, StreamCursor } from 'src/streaming/stream-log';
import {
  SlowConsumerError,
  StreamLogError,
  StreamTruncatedError,
  StreamUnknownError,
} from 'src/streaming/streaming.errors';

/** What a log tells the followers of a stream as it happens. */
export type LiveSignal =
  | { kind: 'event'; event: StreamEvent }
  /** `finish()` was called; `lastSeq` is the seq of the stream's last event (0: none). */
  | { kind: 'finish'; lastSeq: number }
  /** The stream left the log (expired before it finished). */
  | { kind: 'gone' }
  /** The log is shutting down. */
  | { kind: 'closed' }
  /** Signals may have been lost (a reconnect): read the log from the cursor before following again. */
  | { kind: 'resync' };

export interface LiveHandle {
  signals: Observable<LiveSignal>;
  /** Resolves once every event appended from now on will be signalled (Redis: the poller holds a cursor). */
  ready: Promise<void>;
  release(): void;
}

/** The two things an implementation provides so that `followStream` can follow it. */
export interface FollowSource {
  read(key: string, after: StreamCursor | null, options?: ReadOptions): Promise<ReadResult>;
  live(key: string): LiveHandle;
  /** An error for a follower that is still running when the log shuts down. */
  closedError(key: string, lastId: string | null): StreamLogError;
}

interface TrackedFollower {
  readonly key: string;
  queueLength(): number;
}

/** Counts followers per key, their buffers and the slow consumers dropped (for `stats()`). */
export class FollowerTracker {
  private readonly followers = new Set<TrackedFollower>();
  private dropped = 0;

  add(f: TrackedFollower): void {
    this.followers.add(f);
  }

  remove(f: TrackedFollower): void {
    this.followers.delete(f);
  }

  countDropped(): void {
    this.dropped++;
  }

  snapshot(): {
    activeFollowers: number;
    droppedSlowConsumers: number;
    queuedEvents: number;
    maxQueueDepth: number;
    followersByKey: Record<string, number>;
  } {
    const followersByKey: Record<string, number> = {};
    let queuedEvents = 0;
    let maxQueueDepth = 0;
    for (const f of this.followers) {
      followersByKey[f.key] = (followersByKey[f.key] ?? 0) + 1;
      const q = f.queueLength();
      queuedEvents += q;
      maxQueueDepth = Math.max(maxQueueDepth, q);
    }
    return {
      activeFollowers: this.followers.size,
      droppedSlowConsumers: this.dropped,
      queuedEvents,
      maxQueueDepth,
      followersByKey,
    };
  }
}

export interface FollowParams {
  source: FollowSource;
  tracker: FollowerTracker;
  key: string;
  after: StreamCursor | null;
  options: FollowOptions;
  queueMax: number;
  /** Events per replay read. */
  pageSize: number;
}

/**
 * `StreamLog.follow` for any implementation. The log itself is the buffer: the follower subscribes to live
 * signals first, then reads pages after its cursor until it has caught up. Signals that arrive while it
 * reads only record how far the stream got; once a read ends below that, it reads again. In live mode an
 * event is taken when its seq is the next one, a duplicate (seq already taken) is ignored, and a gap sends
 * the follower back to reading. Events are compared by seq, which is contiguous per stream.
 */
export function followStream(p: FollowParams): Observable<StreamEvent> {
  return new Observable<StreamEvent>((subscriber) => new Follower(p, subscriber).start());
}

class Follower implements TrackedFollower {
  readonly key: string;
  private cursor: StreamCursor | null;
  private lastSeq: number;
  private lastEmittedId: string | null;
  private lastEmittedSeq: number;
  /** New events signalled since the consumer paused; past `queueMax` it is dropped as slow. */
  private behindWhilePaused = 0;
  private readonly queue: StreamEvent[] = [];
  private mode: 'catchup' | 'live' = 'catchup';
  private reading = false;
  private draining = false;
  /** The highest seq (and whether a finish) signalled since the current read began. */
  private signalledSeq = 0;
  private signalledFinish = false;
  /** A `resync` arrived: one more read of the log is due before following live. */
  private resyncDue = false;
  /** Every event up to the stream's end has been taken: complete once the queue is empty. */
  private logDone = false;
  private paused = false;
  private closed = false;
  private readonly subs = new Subscription();
  private live?: LiveHandle;

  constructor(
    private readonly p: FollowParams,
    private readonly subscriber: Subscriber<StreamEvent>,
  ) {
    this.key = p.key;
    this.cursor = p.after;
    this.lastSeq = p.after?.seq ?? 0;
    this.lastEmittedId = p.after ? formatEventId(p.after.offset, p.after.seq) : null;
    this.lastEmittedSeq = this.lastSeq;
  }

  queueLength(): number {
    return this.queue.length;
  }

  start(): () => void {
    this.p.tracker.add(this);
    try {
      this.live = this.p.source.live(this.key);
      this.subs.add(
        this.live.signals.subscribe({ next: (s) => this.onSignal(s), error: (e: unknown) => this.fail(e) }),
      );
      if (this.p.options.paused) {
        this.subs.add(
          this.p.options.paused.subscribe((paused) => {
            this.paused = paused;
            if (!paused) {
              this.behindWhilePaused = 0;
              this.drain();
            }
          }),
        );
      }
      this.live.ready.then(
        () => void this.catchUp(),
        (e: unknown) => this.fail(e),
      );
    } catch (e) {
      this.fail(e);
    }
    return () => this.close();
  }

  private onSignal(s: LiveSignal): void {
    if (this.closed || this.logDone) return;
    try {
      if (s.kind === 'gone') return this.fail(new StreamUnknownError(this.key, this.lastEmittedId));
      if (s.kind === 'closed') return this.fail(this.p.source.closedError(this.key, this.lastEmittedId));
      if (s.kind === 'resync') {
        this.resyncDue = true;
        if (this.mode === 'live') {
          this.mode = 'catchup';
          void this.catchUp();
        }
        return;
      }
      if (s.kind === 'event' && this.paused && s.event.seq > this.lastEmittedSeq) {
        // Counted in both modes: in catch-up the log holds the events, but the consumer is as far behind.
        if (++this.behindWhilePaused > this.p.queueMax) {
          this.p.tracker.countDropped();
          return this.fail(new SlowConsumerError(this.key, this.lastEmittedId, this.p.queueMax));
        }
      }
      if (this.mode === 'catchup') {
        if (s.kind === 'event') this.signalledSeq = Math.max(this.signalledSeq, s.event.seq);
        else this.signalledFinish = true;
        return;
      }
      if (s.kind === 'finish') {
        if (s.lastSeq <= this.lastSeq) {
          this.logDone = true;
          this.drain();
        } else this.resumeCatchUp(s.lastSeq, true);
        return;
      }
      const seq = s.event.seq;
      if (seq <= this.lastSeq) return;
      if (seq > this.lastSeq + 1) return this.resumeCatchUp(seq, false);
      this.take([s.event]);
      this.drain();
    } catch (e) {
      this.fail(e);
    }
  }

  /** A gap in live mode: read the missing events from the log. */
  private resumeCatchUp(seq: number, finish: boolean): void {
    this.mode = 'catchup';
    this.signalledSeq = Math.max(this.signalledSeq, seq);
    this.signalledFinish ||= finish;
    void this.catchUp();
  }

  private async catchUp(): Promise<void> {
    if (this.reading || this.closed) return;
    this.reading = true;
    try {
      while (!this.closed && !this.logDone && this.mode === 'catchup') {
        // A paused consumer gets no more pages: the log holds them, nothing grows here.
        if (this.paused && this.queue.length > 0) return;
        const sawSeq = this.signalledSeq;
        const sawFinish = this.signalledFinish;
        this.signalledSeq = 0;
        this.signalledFinish = false;
        this.resyncDue = false;
        const page = await this.p.source.read(this.key, this.cursor, { limit: this.p.pageSize });
        if (this.closed) return;
        if (!page.known) throw new StreamUnknownError(this.key, this.lastEmittedId);
        if (page.truncated && this.p.options.gaps !== 'deliver')
          throw new StreamTruncatedError(this.key, this.lastEmittedId, page.events[0].id);
        this.take(page.events);
        // Signals seen before this read are covered by it, unless the read was cut short.
        this.signalledSeq = Math.max(this.signalledSeq, page.hasMore ? sawSeq : 0);
        this.signalledFinish ||= page.hasMore && sawFinish;
        if (page.finished && !page.hasMore) this.logDone = true;
        else if (!page.hasMore && this.signalledSeq <= this.lastSeq && !this.signalledFinish && !this.resyncDue)
          this.mode = 'live';
        this.drain();
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.reading = false;
    }
    this.drain();
  }

  private take(events: StreamEvent[]): void {
    for (const e of events) {
      if (e.seq <= this.lastSeq) continue;
      this.queue.push(e);
      this.lastSeq = e.seq;
      this.cursor = { offset: e.offset, seq: e.seq };
    }
  }

  private drain(): void {
    if (this.draining || this.closed) return;
    this.draining = true;
    try {
      let i = 0;
      while (i < this.queue.length && !this.paused && !this.closed) {
        const e = this.queue[i++];
        this.lastEmittedId = e.id;
        this.lastEmittedSeq = e.seq;
        this.subscriber.next(e);
      }
      this.queue.splice(0, i);
    } finally {
      this.draining = false;
    }
    if (this.closed) return;
    if (this.logDone && this.queue.length === 0) {
      this.close();
      this.subscriber.complete();
    } else if (!this.paused && this.mode === 'catchup' && !this.reading && !this.logDone) {
      void this.catchUp();
    }
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.close();
    this.subscriber.error(err);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.subs.unsubscribe();
    this.live?.release();
    this.p.tracker.remove(this);
  }
}
