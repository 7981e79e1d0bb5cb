/* eslint-disable @typescript-eslint/require-await -- this implements the async StreamLog interface in memory: `async`
   keeps a thrown StreamFinishedError a rejection, as it is from the Redis log. */
import { Logger, OnModuleDestroy } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import { formatEventId, StreamEvent } from 'src/streaming/stream-event';
import { FollowerTracker, followStream, FollowSource, LiveHandle, LiveSignal } from 'src/streaming/stream-follower';
import {
  ControlHandler,
  ControlMessage,
  FollowOptions,
  AppendOptions,
  ReadOptions,
  SeedEvent,
  ReadResult,
  StreamCursor,
  StreamLog,
  StreamLogStats,
} from 'src/streaming/stream-log';
import {
  StreamFinishedError,
  StreamLogClosedError,
  StreamLostError,
  StreamOffsetError,
} from 'src/streaming/streaming.errors';

export interface MemoryStreamLogOptions {
  /** Events held per stream; past it the oldest are dropped (default 10 000; STREAM_MAX_EVENTS). */
  maxEventsPerStream?: number;
  /** A finished stream is dropped this long after `finish()` (default 600; STREAM_RETENTION_SEC). */
  retentionSec?: number;
  /** Default `queueMax` of a follower (default 1000; SSE_SUBSCRIBER_QUEUE_MAX). */
  subscriberQueueMax?: number;
  /** An unfinished stream without appends for this long is dropped (default 6 h): a producer that died. */
  idleExpirySec?: number;
  /** Events per replay read of a follower (default 500). */
  pageSize?: number;
}

interface Held {
  event: StreamEvent;
  bytes: number;
}

interface MemStream {
  /** Held events are `items[start..]`; the dropped prefix is compacted away now and then. */
  items: Held[];
  start: number;
  seq: number;
  offset: number;
  finished: boolean;
  bytes: number;
  lastActivity: number;
  expiry?: NodeJS.Timeout;
}

interface Channel {
  subject: Subject<LiveSignal>;
  refs: number;
}

/** Rough per-event overhead (object, id string, array slot) added to the JSON size, for `approxBytes`. */
const EVENT_OVERHEAD_BYTES = 120;

const compare = (e: StreamEvent, c: StreamCursor): number => e.offset - c.offset || e.seq - c.seq;

/**
 * The in-process stream log (the embedded default): per stream a bounded array of events, a Subject per
 * followed stream for live followers, and an unref'd expiry timer after `finish()`. Single process only:
 * control messages stay in this process.
 */
export class MemoryStreamLog extends StreamLog implements FollowSource, OnModuleDestroy {
  private readonly logger = new Logger(MemoryStreamLog.name);
  private readonly streams = new Map<string, MemStream>();
  private readonly channels = new Map<string, Channel>();
  private readonly controlHandlers = new Set<ControlHandler>();
  private readonly tracker = new FollowerTracker();
  private readonly maxEvents: number;
  private readonly idleExpiryMs: number;
  private readonly pageSize: number;
  private readonly retentionMs: number;
  private readonly queueMax: number;
  private readonly sweeper: NodeJS.Timeout;
  private eventsHeld = 0;
  private bytesHeld = 0;

  constructor(options: MemoryStreamLogOptions = {}) {
    super();
    this.maxEvents = options.maxEventsPerStream ?? 10_000;
    this.retentionMs = (options.retentionSec ?? 600) * 1000;
    this.queueMax = options.subscriberQueueMax ?? 1000;
    this.idleExpiryMs = (options.idleExpirySec ?? 6 * 3600) * 1000;
    this.pageSize = options.pageSize ?? 500;
    this.sweeper = setInterval(() => this.sweepIdle(), Math.max(1000, Math.min(60_000, this.idleExpiryMs)));
    this.sweeper.unref();
  }

  async open(key: string): Promise<void> {
    this.getOrCreate(key);
  }

  async append<T>(
    key: string,
    type: string,
    data: T,
    offset?: number,
    options: AppendOptions = {},
  ): Promise<StreamEvent<T>> {
    const s = this.getOrCreate(key);
    if (s.finished) throw new StreamFinishedError(key);
    if (options.expectSeq !== undefined && s.seq !== options.expectSeq)
      throw new StreamLostError(key, options.expectSeq, s.seq);
    const off = offset ?? s.offset;
    if (!Number.isSafeInteger(off) || off < 0)
      throw new RangeError(`offset must be a non-negative integer (got ${off})`);
    if (off < s.offset) throw new StreamOffsetError(key, off, s.offset);
    const event = this.push(key, s, type, data, off);
    if (options.finish) await this.finish(key);
    return event;
  }

  async reseed(key: string, afterSeq: number, events: SeedEvent[]): Promise<{ events: StreamEvent[]; seq: number }> {
    const s = this.getOrCreate(key);
    if (s.finished) throw new StreamFinishedError(key);
    for (const e of events)
      if (!Number.isSafeInteger(e.offset) || e.offset < 0)
        throw new RangeError(`offset must be a non-negative integer (got ${e.offset})`);
    s.seq = Math.max(s.seq, afterSeq);
    s.lastActivity = Date.now();
    const written = events.map((e) => this.push(key, s, e.type, e.data, Math.max(s.offset, e.offset)));
    return { events: written, seq: s.seq };
  }

  /** Test hook and the only way this log loses a stream besides its idle sweep: forgets it, as Redis restarted empty would. */
  forget(key: string): void {
    const s = this.streams.get(key);
    if (!s) return;
    clearTimeout(s.expiry);
    this.streams.delete(key);
    this.eventsHeld -= s.items.length - s.start;
    this.bytesHeld -= s.bytes;
  }

  private push<T>(key: string, s: MemStream, type: string, data: T, off: number): StreamEvent<T> {
    const value = (data === undefined ? null : data) as T;
    const bytes = EVENT_OVERHEAD_BYTES + 2 * (type.length + JSON.stringify(value).length);
    s.seq += 1;
    s.offset = off;
    s.lastActivity = Date.now();
    const event: StreamEvent<T> = { id: formatEventId(off, s.seq), seq: s.seq, offset: off, type, data: value };
    s.items.push({ event, bytes });
    s.bytes += bytes;
    this.eventsHeld++;
    this.bytesHeld += bytes;
    this.trim(s);
    this.signal(key, { kind: 'event', event });
    return event;
  }

  async finish(key: string, options: AppendOptions = {}): Promise<void> {
    const s = this.getOrCreate(key);
    if (s.finished) return;
    if (options.expectSeq !== undefined && s.seq !== options.expectSeq)
      throw new StreamLostError(key, options.expectSeq, s.seq);
    s.finished = true;
    s.expiry = setTimeout(() => this.drop(key), this.retentionMs);
    s.expiry.unref();
    this.signal(key, { kind: 'finish', lastSeq: s.seq });
  }

  async read(key: string, after: StreamCursor | null, options: ReadOptions = {}): Promise<ReadResult> {
    const s = this.streams.get(key);
    if (!s) return { events: [], finished: false, known: false, truncated: false, hasMore: false };
    let from = s.start;
    if (after) {
      // First held event after the cursor; events are ordered by (offset, seq).
      let hi = s.items.length;
      while (from < hi) {
        const mid = (from + hi) >>> 1;
        if (compare(s.items[mid].event, after) > 0) hi = mid;
        else from = mid + 1;
      }
    }
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const end = Math.min(s.items.length, from + limit);
    const events = s.items.slice(from, end).map((h) => h.event);
    const truncated = events.length > 0 && events[0].seq > (after?.seq ?? 0) + 1;
    return { events, finished: s.finished, known: true, truncated, hasMore: end < s.items.length };
  }

  follow(key: string, after: StreamCursor | null, options: FollowOptions = {}): Observable<StreamEvent> {
    return followStream({
      source: this,
      tracker: this.tracker,
      key,
      after,
      options,
      queueMax: options.queueMax ?? this.queueMax,
      pageSize: this.pageSize,
    });
  }

  live(key: string): LiveHandle {
    let ch = this.channels.get(key);
    if (!ch) {
      ch = { subject: new Subject<LiveSignal>(), refs: 0 };
      this.channels.set(key, ch);
    }
    const channel = ch;
    channel.refs++;
    let released = false;
    return {
      signals: channel.subject.asObservable(),
      ready: Promise.resolve(),
      release: () => {
        if (released) return;
        released = true;
        if (--channel.refs === 0 && this.channels.get(key) === channel) this.channels.delete(key);
      },
    };
  }

  closedError(key: string, lastId: string | null): StreamLogClosedError {
    return new StreamLogClosedError(key, lastId);
  }

  async publishControl(key: string, message: ControlMessage): Promise<void> {
    for (const handler of [...this.controlHandlers]) {
      try {
        handler(key, message);
      } catch (e) {
        this.logger.error(`control handler failed for ${key}: ${(e as Error).message}`);
      }
    }
  }

  onControl(handler: ControlHandler): () => void {
    const h: ControlHandler = (k, m) => handler(k, m);
    this.controlHandlers.add(h);
    return () => void this.controlHandlers.delete(h);
  }

  async stats(): Promise<StreamLogStats> {
    return {
      backend: 'memory',
      streamsHeld: this.streams.size,
      eventsHeld: this.eventsHeld,
      approxBytes: this.bytesHeld,
      ...this.tracker.snapshot(),
    };
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
    for (const s of this.streams.values()) clearTimeout(s.expiry);
    for (const key of [...this.channels.keys()]) this.signal(key, { kind: 'closed' });
    this.controlHandlers.clear();
  }

  private getOrCreate(key: string): MemStream {
    let s = this.streams.get(key);
    if (!s) {
      s = { items: [], start: 0, seq: 0, offset: 0, finished: false, bytes: 0, lastActivity: Date.now() };
      this.streams.set(key, s);
    }
    return s;
  }

  /** Drops the oldest events past the cap; compacts the array once the dropped prefix is as long as the cap. */
  private trim(s: MemStream): void {
    while (s.items.length - s.start > this.maxEvents) {
      const dropped = s.items[s.start];
      s.items[s.start++] = undefined as unknown as Held;
      s.bytes -= dropped.bytes;
      this.eventsHeld--;
      this.bytesHeld -= dropped.bytes;
    }
    if (s.start >= this.maxEvents) {
      s.items = s.items.slice(s.start);
      s.start = 0;
    }
  }

  private drop(key: string): void {
    const s = this.streams.get(key);
    if (!s) return;
    clearTimeout(s.expiry);
    this.streams.delete(key);
    this.eventsHeld -= s.items.length - s.start;
    this.bytesHeld -= s.bytes;
    this.signal(key, { kind: 'gone' });
  }

  private sweepIdle(): void {
    const cutoff = Date.now() - this.idleExpiryMs;
    for (const [key, s] of this.streams) {
      if (!s.finished && s.lastActivity < cutoff) {
        this.logger.warn(`dropping stream ${key}: unfinished and idle for ${this.idleExpiryMs / 1000}s`);
        this.drop(key);
      }
    }
  }

  private signal(key: string, s: LiveSignal): void {
    this.channels.get(key)?.subject.next(s);
  }
}
