import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ChainableCommander, Redis } from 'ioredis';
import { Observable } from 'rxjs';
import { AppConfig } from 'src/config/env';
import { formatEventId, StreamEvent } from 'src/streaming/stream-event';
import { FollowerTracker, followStream, FollowSource, LiveHandle } from 'src/streaming/stream-follower';
import {
  ControlHandler,
  ControlMessage,
  FollowOptions,
  AppendOptions,
  OpenOptions,
  ReadOptions,
  SeedEvent,
  ReadResult,
  StreamCursor,
  StreamLog,
  StreamLogStats,
} from 'src/streaming/stream-log';
import { LocalStreams } from 'src/streaming/local-streams';
import { RedisLiveHub } from 'src/streaming/redis-live-hub';
import {
  APPEND_LUA,
  decodeEntry,
  FINISH_LUA,
  OPEN_LUA,
  RawEntry,
  RESEED_LUA,
} from 'src/streaming/redis-stream-scripts';
import {
  StreamFinishedError,
  StreamLogClosedError,
  StreamLogUnavailableError,
  StreamLostError,
  StreamOffsetError,
} from 'src/streaming/streaming.errors';

export interface RedisStreamLogOptions {
  /**
   * Prefix of every key and channel (tests use a random one). Default `${REDIS_KEY_PREFIX}stream-log:`, so
   * two deployments sharing a Redis with different `REDIS_KEY_PREFIX` never see each other's streams.
   */
  keyPrefix?: string;
  /** `XADD MAXLEN ~` cap per stream (default 10 000; STREAM_MAX_EVENTS). */
  maxLen?: number;
  /** A finished stream expires this long after `finish()` (default 600; STREAM_RETENTION_SEC). */
  retentionSec?: number;
  /** Default `queueMax` of a follower (default 1000; SSE_SUBSCRIBER_QUEUE_MAX). */
  subscriberQueueMax?: number;
  /** TTL of an unfinished stream, refreshed by every append (default 6 h): a producer that died. */
  idleTtlSec?: number;
  /** Events per replay read (default 500). */
  pageSize?: number;
  /** Streams sampled by `stats()` to estimate events and bytes (default 200). */
  statsSample?: number;
}

type AppendArgs = [
  events: string,
  meta: string,
  type: string,
  data: string,
  offset: string,
  maxLen: number,
  ttl: number,
  channel: string,
  expectSeq: string,
  finish: '' | '1',
  retentionSec: number,
];

type LogPipeline = ChainableCommander & {
  streamLogAppend(...a: AppendArgs): unknown;
  streamLogOpen(m: string, ttl: number): unknown;
};

/** A command of the stream log waiting for the next flush (see `queue`). */
interface PendingOp {
  /** Adds the op's commands to the pipeline and returns how many; the op's result is the first one's. */
  add(pipe: LogPipeline): number;
  resolve: (value: unknown) => void;
  reject: (e: unknown) => void;
}

type ScriptedRedis = Redis & {
  streamLogAppend(...args: AppendArgs): Promise<[number, string]>;
  streamLogFinish(e: string, m: string, ttl: number, channel: string, expectSeq: string): Promise<number>;
  streamLogReseed(
    e: string,
    m: string,
    afterSeq: number,
    maxLen: number,
    ttl: number,
    channel: string,
    ...seed: string[]
  ): Promise<string[]>;
  streamLogOpen(m: string, ttl: number): Promise<number>;
};

/**
 * A stream-log command with no answer within this long fails (the route answers 503), whether it was sent
 * or waits in the offline queue for the reconnection (tried every ≤ 500 ms). Long enough for a generating
 * reply to ride through a Redis restart (test/e2e/stream-gaps.e2e-spec.ts: with the shared client's 800 ms
 * and no offline queue the reply ended as an error), short enough that no stream request hangs. Before, these
 * connections had ioredis's defaults (20 retries, no timeout): a stream request waited ~10 s. Reaching the
 * 1 s of the shared client needs the producer to retry its appends instead (docs/reliability.md).
 */
export const STREAM_LOG_COMMAND_TIMEOUT_MS = 3000;

/** Events of a locally produced stream held in memory for the replays of local followers (then: Redis). */
const LOCAL_HELD_MAX = 2000;

export const STREAM_LOG_REDIS_OPTIONS = {
  commandTimeout: STREAM_LOG_COMMAND_TIMEOUT_MS,
  connectTimeout: 2000,
  retryStrategy: (times: number) => Math.min(times * 50, 500),
} as const;

/**
 * The stream log on Redis Streams (`REDIS_URL`), shared by every instance. Per stream: a Redis stream of
 * events with explicit ids `${offset}-${seq}` (XADD with `MAXLEN ~`), a meta hash (seq counter, offset,
 * finished) updated with the XADD in one Lua script, and a finish marker entry so that readers see the end
 * in the same stream. Replay is `XRANGE (<after> +`; live followers get the entries the scripts PUBLISH on
 * the stream's channel (`RedisLiveHub`: one subscriber connection per process, one subscription per followed
 * stream). Control messages go through one pub/sub channel so a cancel reaches the instance that runs the
 * job.
 */
export class RedisStreamLog extends StreamLog implements FollowSource, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RedisStreamLog.name);
  private readonly redis: ScriptedRedis;
  private readonly sub: Redis;
  private readonly hub: RedisLiveHub;
  /** Streams produced in this process, delivered to its own followers without Redis (`open(key, { local })`). */
  private readonly local: LocalStreams;
  /** Opens and appends issued since the last flush (see `queue`). */
  private pending: PendingOp[] = [];
  /** Streams opened (and indexed) by this process that have no event yet. */
  private readonly openedHere = new Set<string>();
  private readonly controlHandlers = new Set<ControlHandler>();
  private readonly tracker = new FollowerTracker();
  private readonly prefix: string;
  private readonly opts: Required<Omit<RedisStreamLogOptions, 'keyPrefix'>>;
  private subscribed?: Promise<void>;
  private closing = false;

  constructor(
    private readonly config: AppConfig,
    options: RedisStreamLogOptions = {},
  ) {
    super();
    if (!config.redisUrl) throw new Error('RedisStreamLog needs REDIS_URL');
    this.prefix = options.keyPrefix ?? `${config.redisKeyPrefix}stream-log:`;
    this.opts = {
      maxLen: options.maxLen ?? 10_000,
      retentionSec: options.retentionSec ?? 600,
      subscriberQueueMax: options.subscriberQueueMax ?? 1000,
      idleTtlSec: options.idleTtlSec ?? 6 * 3600,
      pageSize: options.pageSize ?? 500,
      statsSample: options.statsSample ?? 200,
    };
    this.local = new LocalStreams(Math.min(this.opts.maxLen, LOCAL_HELD_MAX));
    const redis = new Redis(config.redisUrl, { connectionName: 'stream-log', ...STREAM_LOG_REDIS_OPTIONS });
    redis.defineCommand('streamLogAppend', { numberOfKeys: 2, lua: APPEND_LUA });
    redis.defineCommand('streamLogFinish', { numberOfKeys: 2, lua: FINISH_LUA });
    redis.defineCommand('streamLogOpen', { numberOfKeys: 1, lua: OPEN_LUA });
    redis.defineCommand('streamLogReseed', { numberOfKeys: 2, lua: RESEED_LUA });
    redis.on('error', (e: Error) => this.logger.warn(`redis: ${e.message}`));
    this.redis = redis as ScriptedRedis;
    this.sub = new Redis(config.redisUrl, { connectionName: 'stream-log-subscriber', ...STREAM_LOG_REDIS_OPTIONS });
    this.sub.on('error', (e: Error) => this.logger.warn(`redis subscriber: ${e.message}`));
    this.hub = new RedisLiveHub(this.sub);
    this.sub.on('message', (channel: string, payload: string) => {
      if (channel === this.controlChannel) this.deliverControl(payload);
      else this.hub.deliver(channel, payload);
    });
  }

  /** Subscribes to the control channel before the app serves, so no cancel is missed. */
  async onModuleInit(): Promise<void> {
    await this.ensureSubscribed();
  }

  isAvailable(): boolean {
    return !this.closing && this.redis.status === 'ready' && this.sub.status === 'ready';
  }

  /**
   * Fails at once (503, or the database for a reader) when the connection is not ready, instead of waiting
   * in the offline queue for the command timeout. Only for what a request or a reader waits on: a
   * producer's appends, finish and re-seed wait for the reconnection, so a reply rides through a restart.
   */
  private assertReady(conn: Redis, key: string): void {
    if (this.closing || conn.status !== 'ready') throw new StreamLogUnavailableError(key);
  }

  /**
   * The open script and the index update leave in the pipeline of the turn (with the other streams' opens and
   * appends: one write and one read for all of them).
   */
  async open(key: string, options: OpenOptions = {}): Promise<void> {
    this.assertReady(this.redis, key);
    if (options.local) this.local.open(key);
    let held: unknown;
    try {
      held = await this.queue((pipe) => {
        pipe.streamLogOpen(this.metaKey(key), this.opts.idleTtlSec);
        this.addIndex(pipe, key, this.opts.idleTtlSec);
        return 4;
      });
    } catch (e) {
      this.local.drop(key);
      throw e;
    }
    if (options.local) this.local.opened(key, Number(held ?? 0));
    // Indexed here: its first append need not index it again.
    this.openedHere.add(key);
  }

  async append<T>(
    key: string,
    type: string,
    data: T,
    offset?: number,
    options: AppendOptions = {},
  ): Promise<StreamEvent<T>> {
    if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0)) {
      throw new RangeError(`offset must be a non-negative integer (got ${offset})`);
    }
    const value = (data === undefined ? null : data) as T;
    let seq: number;
    let offs: string;
    try {
      [seq, offs] = await this.queueAppend(key, [
        this.eventsKey(key),
        this.metaKey(key),
        type,
        JSON.stringify(value),
        offset === undefined ? '' : String(offset),
        this.opts.maxLen,
        this.opts.idleTtlSec,
        this.liveChannel(key),
        expectSeqArg(options),
        options.finish ? '1' : '',
        this.opts.retentionSec,
      ]);
    } catch (e) {
      // Whatever the log holds now, this process cannot vouch for it: local followers go to the database.
      this.local.drop(key);
      const msg = (e as Error).message ?? '';
      if (msg.includes('STREAM_FINISHED')) throw new StreamFinishedError(key);
      const lost = /STREAM_LOST (\d+)/.exec(msg);
      if (lost) throw new StreamLostError(key, options.expectSeq as number, Number(lost[1]));
      const m = /STREAM_OFFSET (\d+)/.exec(msg);
      if (m) throw new StreamOffsetError(key, offset as number, Number(m[1]));
      throw e;
    }
    const event: StreamEvent<T> = {
      id: formatEventId(Number(offs), seq),
      seq,
      offset: Number(offs),
      type,
      data: value,
    };
    this.local.appended(key, event);
    if (options.finish) {
      // Indexed with its retention in the append's own pipeline (see `flushAppends`).
      this.openedHere.delete(key);
      this.local.finished(key);
    } else if (seq === 1 && !this.openedHere.delete(key)) this.index(key, this.opts.idleTtlSec);
    return event;
  }

  async finish(key: string, options: AppendOptions = {}): Promise<void> {
    this.openedHere.delete(key);
    const ttl = this.opts.retentionSec;
    let done: number;
    try {
      done = await this.redis.streamLogFinish(
        this.eventsKey(key),
        this.metaKey(key),
        ttl,
        this.liveChannel(key),
        expectSeqArg(options),
      );
    } catch (e) {
      this.local.drop(key);
      const lost = /STREAM_LOST (\d+)/.exec((e as Error).message ?? '');
      if (lost) throw new StreamLostError(key, options.expectSeq as number, Number(lost[1]));
      throw e;
    }
    if (done === 1) {
      this.local.finished(key);
      this.index(key, ttl);
    } else this.local.drop(key);
  }

  async reseed(key: string, afterSeq: number, events: SeedEvent[]): Promise<{ events: StreamEvent[]; seq: number }> {
    const seed: string[] = [];
    const values = events.map((e) => (e.data === undefined ? null : e.data));
    events.forEach((e, i) => {
      if (!Number.isSafeInteger(e.offset) || e.offset < 0)
        throw new RangeError(`offset must be a non-negative integer (got ${e.offset})`);
      seed.push(e.type, JSON.stringify(values[i]), String(e.offset));
    });
    // The log lost the stream: from here on its followers here are served by the database.
    this.local.drop(key);
    let reply: string[];
    try {
      reply = await this.redis.streamLogReseed(
        this.eventsKey(key),
        this.metaKey(key),
        afterSeq,
        this.opts.maxLen,
        this.opts.idleTtlSec,
        this.liveChannel(key),
        ...seed,
      );
    } catch (e) {
      if (((e as Error).message ?? '').includes('STREAM_FINISHED')) throw new StreamFinishedError(key);
      throw e;
    }
    this.index(key, this.opts.idleTtlSec);
    const [seq, ...ids] = reply;
    const written = ids.map((id, i): StreamEvent => {
      const dash = id.indexOf('-');
      return {
        id,
        seq: Number(id.slice(dash + 1)),
        offset: Number(id.slice(0, dash)),
        type: events[i].type,
        data: values[i],
      };
    });
    return { events: written, seq: Number(seq) };
  }

  async read(key: string, after: StreamCursor | null, options: ReadOptions = {}): Promise<ReadResult> {
    const held = this.local.read(key, after, options.limit);
    if (held) return held;
    this.assertReady(this.redis, key);
    const start = after ? `(${formatEventId(after.offset, after.seq)}` : '-';
    const limit = options.limit;
    const tx = this.redis.multi().hget(this.metaKey(key), 'fin').exists(this.metaKey(key), this.eventsKey(key));
    if (limit !== undefined && Number.isFinite(limit)) tx.xrange(this.eventsKey(key), start, '+', 'COUNT', limit + 1);
    else tx.xrange(this.eventsKey(key), start, '+');
    const res = await tx.exec();
    if (!res) throw new Error('stream log read transaction aborted');
    for (const [err] of res) if (err) throw err;
    const fin = res[0][1] as string | null;
    const exists = res[1][1] as number;
    const raw = res[2][1] as RawEntry[];
    if (exists === 0) return { events: [], finished: false, known: false, truncated: false, hasMore: false };
    const events: StreamEvent[] = [];
    for (const item of raw) {
      const d = decodeEntry(item);
      if (!d.marker) events.push(d.event);
    }
    const hasMore = limit !== undefined && events.length > limit;
    if (hasMore) events.length = limit;
    const truncated = events.length > 0 && events[0].seq > (after?.seq ?? 0) + 1;
    return { events, finished: fin === '1', known: true, truncated, hasMore };
  }

  follow(key: string, after: StreamCursor | null, options: FollowOptions = {}): Observable<StreamEvent> {
    return followStream({
      source: this,
      tracker: this.tracker,
      key,
      after,
      options,
      queueMax: options.queueMax ?? this.opts.subscriberQueueMax,
      pageSize: this.opts.pageSize,
    });
  }

  live(key: string): LiveHandle {
    if (this.closing) throw new StreamLogClosedError(key, null);
    const local = this.local.live(key);
    if (local) return local;
    this.assertReady(this.sub, key);
    return this.hub.register(this.liveChannel(key));
  }

  closedError(key: string, lastId: string | null): StreamLogClosedError {
    return new StreamLogClosedError(key, lastId);
  }

  producerEnded(key: string): void {
    this.local.drop(key);
  }

  /** Streams produced in this process and followed here without Redis. */
  get localStreams(): number {
    return this.local.size;
  }

  /** Streams this process follows live (one subscription each, on one connection). */
  get liveSubscriptions(): number {
    return this.hub.size;
  }

  async publishControl(key: string, message: ControlMessage): Promise<void> {
    this.assertReady(this.redis, key);
    await this.redis.publish(this.controlChannel, JSON.stringify({ key, message }));
  }

  onControl(handler: ControlHandler): () => void {
    this.ensureSubscribed().catch((e: unknown) =>
      this.logger.error(`control subscribe failed: ${(e as Error).message}`),
    );
    const h: ControlHandler = (k, m) => handler(k, m);
    this.controlHandlers.add(h);
    return () => void this.controlHandlers.delete(h);
  }

  async stats(): Promise<StreamLogStats> {
    const indexKey = this.indexKey;
    await this.redis.zremrangebyscore(indexKey, '-inf', Date.now());
    const streamsHeld = await this.redis.zcard(indexKey);
    let eventsHeld = 0;
    let approxBytes = 0;
    if (streamsHeld > 0) {
      const sample =
        streamsHeld <= this.opts.statsSample
          ? await this.redis.zrange(indexKey, 0, -1)
          : await this.redis.zrandmember(indexKey, this.opts.statsSample);
      const pipe = this.redis.pipeline();
      for (const k of sample) {
        pipe.xlen(this.eventsKey(k));
        pipe.call('MEMORY', 'USAGE', this.eventsKey(k));
        pipe.call('MEMORY', 'USAGE', this.metaKey(k));
      }
      const res = (await pipe.exec()) ?? [];
      let events = 0;
      let bytes = 0;
      res.forEach(([err, v], i) => {
        if (err || typeof v !== 'number') return;
        if (i % 3 === 0) events += v;
        else bytes += v;
      });
      const scale = sample.length ? streamsHeld / sample.length : 0;
      eventsHeld = Math.round(events * scale);
      approxBytes = Math.round(bytes * scale);
    }
    return { backend: 'redis', streamsHeld, eventsHeld, approxBytes, ...this.tracker.snapshot() };
  }

  /** Ends the live followers (with `StreamLogClosedError`) and quits the connections. */
  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    this.hub.stop();
    this.local.stop();
    this.controlHandlers.clear();
    await Promise.all([this.quit(this.sub), this.quit(this.redis)]);
  }

  /**
   * Appends of one turn of the event loop (every job whose upstream sent a delta in it), and the opens of
   * new streams, leave as one pipeline: one socket write instead of one per command, the largest cost of an
   * append in a profile (a system call is expensive here). Unlike ioredis auto-pipelining, which keeps one
   * pipeline in flight per connection and was measured slower under load, batches do not wait for one
   * another. A lone append is a plain call. Order within a stream is kept: a job awaits each append before
   * the next. A stream finished by its last append is indexed with its retention in the same pipeline.
   */
  private queueAppend(key: string, args: AppendArgs): Promise<[number, string]> {
    const finishing = args[9] === '1';
    return this.queue(
      (pipe) => {
        pipe.streamLogAppend(...args);
        if (!finishing) return 1;
        this.addIndex(pipe, key, this.opts.retentionSec);
        return 4;
      },
      finishing ? undefined : () => this.redis.streamLogAppend(...args),
    ) as Promise<[number, string]>;
  }

  /** `alone`: how to send the op when it is the only one of its turn (no pipeline needed). */
  private queue(add: PendingOp['add'], alone?: () => Promise<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.push({ add, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush(alone));
    });
  }

  private flush(alone?: () => Promise<unknown>): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 1 && alone) {
      alone().then(batch[0].resolve, batch[0].reject);
      return;
    }
    const pipe = this.redis.pipeline() as LogPipeline;
    const at: number[] = [];
    let n = 0;
    for (const op of batch) {
      at.push(n);
      n += op.add(pipe);
    }
    pipe.exec().then(
      (results) => {
        batch.forEach((op, i) => {
          const [err, value] = results?.[at[i]] ?? [new Error('stream log: no reply in the pipeline'), null];
          if (err) op.reject(err);
          else op.resolve(value);
        });
        // The other replies are the index's (best effort: it only feeds `stats()`).
        const main = new Set(at);
        const indexError = results?.find(([e], i) => e && !main.has(i))?.[0];
        if (indexError) this.logger.warn(`stream index update failed: ${indexError.message}`);
      },
      (err: unknown) => batch.forEach((op) => op.reject(err)),
    );
  }

  private ensureSubscribed(): Promise<void> {
    this.subscribed ??= this.sub.subscribe(this.controlChannel).then(() => undefined);
    return this.subscribed;
  }

  private deliverControl(payload: string): void {
    let parsed: { key: string; message: ControlMessage };
    try {
      parsed = JSON.parse(payload) as { key: string; message: ControlMessage };
    } catch {
      this.logger.warn('ignoring a malformed control message');
      return;
    }
    for (const handler of [...this.controlHandlers]) {
      try {
        handler(parsed.key, parsed.message);
      } catch (e) {
        this.logger.error(`control handler failed for ${parsed.key}: ${(e as Error).message}`);
      }
    }
  }

  /**
   * Best effort: the index (stream key → expiry time) only feeds `stats()`, it never decides what a read
   * sees. Expired members are trimmed here too, and the index itself expires with its longest-lived member.
   */
  private index(key: string, ttlSec: number): void {
    this.addIndex(this.redis.pipeline(), key, ttlSec)
      .exec()
      .catch((e: unknown) => this.logger.warn(`stream index update failed: ${(e as Error).message}`));
  }

  private addIndex(pipe: ChainableCommander, key: string, ttlSec: number): ChainableCommander {
    const now = Date.now();
    const keepSec = Math.max(this.opts.idleTtlSec, this.opts.retentionSec);
    return pipe
      .zadd(this.indexKey, now + ttlSec * 1000, key)
      .zremrangebyscore(this.indexKey, '-inf', now)
      .expire(this.indexKey, keepSec);
  }

  private async quit(conn: Redis): Promise<void> {
    try {
      await conn.quit();
    } catch {
      conn.disconnect();
    }
  }

  private eventsKey(key: string): string {
    return `${this.prefix}{${key}}:events`;
  }

  private metaKey(key: string): string {
    return `${this.prefix}{${key}}:meta`;
  }

  /** The pub/sub channel the scripts publish the stream's entries on (same hash tag as its keys). */
  private liveChannel(key: string): string {
    return `${this.prefix}{${key}}:live`;
  }

  private get indexKey(): string {
    return `${this.prefix}index`;
  }

  private get controlChannel(): string {
    return `${this.prefix}control`;
  }
}

const expectSeqArg = (o: AppendOptions): string => (o.expectSeq === undefined ? '' : String(o.expectSeq));
