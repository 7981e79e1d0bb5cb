import { Observable } from 'rxjs';
import { StreamCursor } from 'src/streaming/stream-cursor';
import { StreamEvent } from 'src/streaming/stream-event';

export { StreamCursor };

export interface ReadOptions {
  /** At most this many events (default: all that are held). */
  limit?: number;
}

export interface ReadResult {
  /** The held events after the cursor, oldest first. */
  events: StreamEvent[];
  /** The producer called `finish()` (its terminal event is the last event of the stream). */
  finished: boolean;
  /** The log holds the stream. When false, serve it from the database. */
  known: boolean;
  /**
   * Events right after the cursor were dropped by the per-stream cap: `events` starts later than asked.
   * Serve the gap from the database up to `events[0]` (ids carry the content offset).
   */
  truncated: boolean;
  /** `limit` cut the answer short; read again after the last event. */
  hasMore: boolean;
}

export interface FollowOptions {
  /**
   * Flow control from the consumer (the SSE writer feeds it from `res.write()`/`'drain'`). While it is
   * true nothing is emitted: replay stops reading pages and live events wait in this subscriber's buffer
   * (at most one page plus `queueMax` events). Once more than `queueMax` new events arrive during one
   * pause, the follow errors with `SlowConsumerError` carrying the last id delivered.
   */
  paused?: Observable<boolean>;
  /** Bound of the subscriber's buffer (default `config.streaming.subscriberQueueMax`, the log's own option). */
  queueMax?: number;
  /**
   * What a jump in seq after the cursor means (events the log no longer holds: capped, lost with Redis, or
   * skipped by a re-seed). `'error'` (default): `StreamTruncatedError`. `'deliver'`: the events after the
   * jump are emitted, for consumers that check continuity themselves by offset (chat content) and stand
   * the re-seed's summary events in for the missing ones.
   */
  gaps?: 'error' | 'deliver';
}

export interface OpenOptions {
  /**
   * The stream's producer runs in this process until it finishes the stream or `producerEnded(key)` is called
   * (a chat reply's job): followers in this process may get its events without a trip through the shared log
   * (Redis: `LocalStreams`). Only for a producer that certainly runs here.
   */
  local?: boolean;
}

export interface AppendOptions {
  /**
   * The seq of the producer's previous event (0 before the first). When the log holds another one it has
   * lost the stream's events (Redis restarted empty, flushed, evicted): the append is refused with
   * `StreamLostError` instead of restarting seq from 1. `StreamWriter` passes it and re-seeds.
   */
  expectSeq?: number;
  /**
   * The event is the stream's terminal one: the stream is finished with it, atomically (as `finish()` right
   * after, in the same round trip). Followers complete after it; later appends are refused.
   */
  finish?: boolean;
}

/** An event a producer writes with `reseed` to stand for everything it appended before the loss. */
export interface SeedEvent<T = unknown> {
  type: string;
  data: T;
  offset: number;
}

/** A control message for the producer of a stream (e.g. `{ type: 'cancel' }`). JSON-serialisable. */
export interface ControlMessage {
  type: 'cancel' | (string & {});
  [field: string]: unknown;
}

export type ControlHandler = (key: string, message: ControlMessage) => void;

export interface StreamLogStats {
  backend: 'memory' | 'redis';
  /** Streams held by the log (for Redis: in the whole Redis, not only this process). */
  streamsHeld: number;
  /** Events held (for Redis, with many streams: estimated from a sample). */
  eventsHeld: number;
  /** Approximate memory the held events take (for Redis: `MEMORY USAGE`, estimated from a sample). */
  approxBytes: number;
  /** Followers subscribed in this process. */
  activeFollowers: number;
  /** Followers of this process dropped for falling `queueMax` events behind, since start. */
  droppedSlowConsumers: number;
  /** Events waiting in the buffers of this process's followers, in all and in the fullest one. */
  queuedEvents: number;
  maxQueueDepth: number;
  /** Followers in this process per stream key. */
  followersByKey: Record<string, number>;
}

/**
 * The stream log: typed events for opaque stream keys, replayable after any id and followable live on any
 * instance. The injection token for the implementation chosen by `StreamingModule` (Redis Streams when
 * `REDIS_URL` is set, in-process otherwise). It knows nothing of chats or research.
 *
 * Ids are `${offset}-${seq}` (src/streaming/stream-event.ts): `seq` counts from 1 per stream, `offset` is the
 * producer's content cursor, non-decreasing. Event data must be JSON-serialisable and not mutated after
 * `append`.
 */
export abstract class StreamLog {
  /**
   * Registers a stream before its first event, so a follower that arrives early waits for events instead
   * of getting `StreamUnknownError`. Idempotent; `append` opens the stream too.
   */
  abstract open(key: string, options?: OpenOptions): Promise<void>;

  /**
   * The local producer of `key` (see `OpenOptions.local`) stopped. If it did not finish the stream, the
   * followers this process served from it go to the database. No-op for a log without local delivery.
   */
  producerEnded(key: string): void {
    void key;
  }

  /**
   * Appends an event with the next `seq`. `offset` defaults to the previous event's offset and may not go
   * below it (`StreamOffsetError`). Refused with `StreamFinishedError` after `finish()`.
   */
  abstract append<T>(
    key: string,
    type: string,
    data: T,
    offset?: number,
    options?: AppendOptions,
  ): Promise<StreamEvent<T>>;

  /**
   * After `StreamLostError`: makes the stream's seq continue after `afterSeq` (if the log holds a higher
   * seq, after that) and appends `events`, which stand for what was lost (for a chat: one `message` with
   * the whole content so far). `StreamWriter` passes its last seq minus the number of seed events. Live followers get them like any event; a reader whose
   * cursor is before the jump sees a gap (`gaps` in `FollowOptions`). Returns the events written (the last
   * one's seq is the next `expectSeq`); with no events, `afterSeq` is still recorded and the result is empty.
   * Refused with `StreamFinishedError` after `finish()`.
   */
  abstract reseed(key: string, afterSeq: number, events: SeedEvent[]): Promise<{ events: StreamEvent[]; seq: number }>;

  /**
   * Marks the stream finished (the producer appended its terminal event): followers complete after the last
   * event, the stream expires `retentionSec` later (the log's option, from `config.streaming`). Idempotent.
   */
  abstract finish(key: string, options?: AppendOptions): Promise<void>;

  /** Replay only: the held events after `after` (null: from the start). */
  abstract read(key: string, after: StreamCursor | null, options?: ReadOptions): Promise<ReadResult>;

  /**
   * Replays the events after `after`, then emits live events, and completes after the last event of a
   * finished stream. No event is emitted twice and none is skipped, including events appended while the
   * replay is in flight. Errors with `StreamUnknownError` (no such stream: use the database),
   * `StreamTruncatedError` (the cap dropped events after `after`), `SlowConsumerError` (see
   * `FollowOptions.paused`) or `StreamLogClosedError` (shutdown). Unsubscribing never affects the producer.
   */
  abstract follow(key: string, after: StreamCursor | null, options?: FollowOptions): Observable<StreamEvent>;

  /** Sends a control message to whoever handles `key`, on any instance (Redis: pub/sub). */
  abstract publishControl(key: string, message: ControlMessage): Promise<void>;

  /** Receives every control message of every stream; returns the unsubscribe function. */
  abstract onControl(handler: ControlHandler): () => void;

  /** Figures for Monitoring. */
  abstract stats(): Promise<StreamLogStats>;

  /**
   * Whether the log can serve a reader right now (Redis: both connections are ready). When it cannot,
   * readers go to the database at once and `open`, `publishControl` and a new `follow` fail fast with
   * `StreamLogUnavailableError` (503) instead of waiting for a command timeout. A producer's appends still
   * wait for the reconnection (up to the command timeout), so a generating reply rides through a restart.
   */
  isAvailable(): boolean {
    return true;
  }
}
