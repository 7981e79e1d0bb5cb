import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Subject } from 'rxjs';
import { LiveHandle, LiveSignal } from 'src/streaming/stream-follower';
import { decodeLiveMessage } from 'src/streaming/redis-stream-scripts';

interface Entry {
  subject: Subject<LiveSignal>;
  refs: number;
  ready: Promise<void>;
}

/**
 * Live fan-out of RedisStreamLog over pub/sub. The append and finish scripts PUBLISH every entry they add
 * on the stream's own channel, in the same atomic step, so the order on the channel is the order in the
 * stream. This process SUBSCRIBEs, on one connection shared with the control channel, to the channels of
 * the streams it follows (one subscription per stream however many followers it has) and fans each
 * message out through one Subject per stream.
 *
 * Pub/sub is at most once, which the follower tolerates by design: it takes events by seq, reads the log
 * on a gap, and reads the log once after `ready` (the subscription is confirmed, so every later entry
 * will be signalled). The only loss it could not see by itself is the end of a stream lost while the
 * connection was down; so after every reconnect the hub re-subscribes, waits for the confirmation, and
 * sends `resync` to every stream, which makes each follower read the log from its own cursor.
 *
 * Compared with one blocking `XREAD` over every followed stream (the previous design), nothing here costs
 * in proportion to the number of streams followed: a message reaches only the processes that follow its
 * stream, and Redis does the fan-out without a command from us per batch.
 */
export class RedisLiveHub {
  private readonly logger = new Logger(RedisLiveHub.name);
  private readonly entries = new Map<string, Entry>();
  private connectedOnce = false;
  private stopped = false;

  constructor(private readonly sub: Redis) {
    this.sub.on('ready', () => {
      if (this.connectedOnce) this.resync();
      this.connectedOnce = true;
    });
  }

  /** Streams followed through this hub (one subscription each). */
  get size(): number {
    return this.entries.size;
  }

  /** Whether `channel` belongs to a followed stream; `deliver` ignores the rest. */
  deliver(channel: string, payload: string): boolean {
    const entry = this.entries.get(channel);
    if (!entry) return false;
    let signal: LiveSignal;
    try {
      const m = decodeLiveMessage(payload);
      signal = m.marker ? { kind: 'finish', lastSeq: m.seq - 1 } : { kind: 'event', event: m.event };
    } catch (e) {
      this.logger.warn(`ignoring a malformed live message on ${channel}: ${(e as Error).message}`);
      signal = { kind: 'resync' };
    }
    try {
      entry.subject.next(signal);
    } catch (e) {
      this.logger.error(`fan-out on ${channel} failed: ${(e as Error).message}`);
    }
    return true;
  }

  register(channel: string): LiveHandle {
    let entry = this.entries.get(channel);
    if (!entry) {
      const created: Entry = { subject: new Subject<LiveSignal>(), refs: 0, ready: Promise.resolve() };
      created.ready = this.sub.subscribe(channel).then(
        () => undefined,
        (e: unknown) => {
          if (this.entries.get(channel) === created) this.entries.delete(channel);
          throw e;
        },
      );
      this.entries.set(channel, created);
      entry = created;
    }
    const e = entry;
    e.refs++;
    let released = false;
    return {
      signals: e.subject.asObservable(),
      ready: e.ready,
      release: () => {
        if (released) return;
        released = true;
        if (--e.refs > 0 || this.entries.get(channel) !== e) return;
        this.entries.delete(channel);
        // A later register of the same channel subscribes after this on the same connection, so the
        // order of the two commands keeps it subscribed.
        if (!this.stopped) {
          this.sub
            .unsubscribe(channel)
            .catch((err: Error) => this.logger.warn(`unsubscribe ${channel}: ${err.message}`));
        }
      },
    };
  }

  /** Every follower still here gets a `closed` signal. The connection belongs to the caller. */
  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) e.subject.next({ kind: 'closed' });
    this.entries.clear();
  }

  /**
   * After a reconnect: messages published while the connection was down are lost. Subscribe again (ioredis
   * re-subscribes too; a confirmation of ours means the channel is live again), then tell every follower
   * to read the log from its cursor.
   */
  private resync(): void {
    const channels = [...this.entries.keys()];
    if (channels.length === 0 || this.stopped) return;
    this.sub.subscribe(...channels).then(
      () => {
        for (const c of channels) this.entries.get(c)?.subject.next({ kind: 'resync' });
      },
      (e: unknown) => this.logger.warn(`re-subscribe after reconnect failed: ${(e as Error).message}`),
    );
  }
}
