import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Subject } from 'rxjs';
import { LiveHandle, LiveSignal } from 'src/streaming/stream-follower';
import { decodeEntry, RawEntry } from 'src/streaming/redis-stream-scripts';

export interface PollerOptions {
  /** How long one XREAD blocks (ms); new keys wake it at once through CLIENT UNBLOCK. */
  blockMs: number;
  /** Entries per key per XREAD. */
  count: number;
}

interface Entry {
  subject: Subject<LiveSignal>;
  refs: number;
  /** Last id fanned out; null until the starting cursor is known. */
  cursor: string | null;
  ready: Promise<void>;
}

/**
 * One blocking connection that follows many streams: a loop of `XREAD BLOCK … STREAMS k1 … kn id1 … idn`
 * over every followed stream of this process (or of its shard), fanning entries out through one Subject per
 * stream, however many followers it has. A stream joins with a cursor at its current last id (taken before
 * the follower's replay read, so nothing falls between them) and wakes the blocked XREAD so it is included
 * at once. Cursors live here, so a reconnect of the reader loses nothing.
 */
export class RedisStreamPoller {
  private readonly logger = new Logger(RedisStreamPoller.name);
  private readonly entries = new Map<string, Entry>();
  private clientId: number | null = null;
  private blocked = false;
  private generation = 0;
  private running = true;
  private wake: (() => void) | null = null;
  private readonly done: Promise<void>;

  constructor(
    private readonly reader: Redis,
    private readonly commands: Redis,
    private readonly options: PollerOptions,
  ) {
    this.reader.on('close', () => (this.clientId = null));
    this.reader.on('error', (e: Error) => this.logger.warn(`reader connection: ${e.message}`));
    this.done = this.loop();
  }

  /** Streams followed through this poller. */
  get size(): number {
    return this.entries.size;
  }

  has(streamKey: string): boolean {
    return this.entries.has(streamKey);
  }

  register(streamKey: string): LiveHandle {
    let entry = this.entries.get(streamKey);
    if (!entry) {
      const created: Entry = { subject: new Subject<LiveSignal>(), refs: 0, cursor: null, ready: Promise.resolve() };
      created.ready = this.commands.xrevrange(streamKey, '+', '-', 'COUNT', 1).then(
        (last) => {
          created.cursor = last[0]?.[0] ?? '0-0';
          this.kick();
        },
        (e: unknown) => {
          if (this.entries.get(streamKey) === created) this.entries.delete(streamKey);
          throw e;
        },
      );
      this.entries.set(streamKey, created);
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
        if (--e.refs === 0 && this.entries.get(streamKey) === e) this.entries.delete(streamKey);
      },
    };
  }

  /** Ends the loop; every follower still here gets a `closed` signal. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    this.reader.disconnect();
    await this.done;
    for (const e of this.entries.values()) e.subject.next({ kind: 'closed' });
    this.entries.clear();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      if (![...this.entries.values()].some((e) => e.cursor !== null)) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      try {
        if (this.clientId === null) this.clientId = await this.reader.client('ID');
        // From here to the XREAD being sent, nothing awaits: a stream whose cursor is set later is
        // handled by kick(), which sees `blocked` and this generation.
        const active = [...this.entries].filter(([, e]) => e.cursor !== null);
        if (active.length === 0) continue;
        const args: (string | number)[] = ['COUNT', this.options.count, 'BLOCK', this.options.blockMs, 'STREAMS'];
        for (const [k] of active) args.push(k);
        for (const [, e] of active) args.push(e.cursor as string);
        this.generation++;
        this.blocked = true;
        const reply = (await this.reader.call('XREAD', ...args)) as [string, RawEntry[]][] | null;
        this.blocked = false;
        failures = 0;
        if (reply) this.fanOut(reply);
      } catch (e) {
        this.blocked = false;
        if (!this.running) break;
        failures++;
        this.logger.warn(`XREAD failed (${failures}): ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** Math.min(failures, 6))));
      }
    }
  }

  private fanOut(reply: [string, RawEntry[]][]): void {
    for (const [streamKey, raw] of reply) {
      const entry = this.entries.get(streamKey);
      if (!entry) continue;
      for (const item of raw) {
        entry.cursor = item[0];
        const d = decodeEntry(item);
        const signal: LiveSignal = d.marker ? { kind: 'finish', lastSeq: d.seq - 1 } : { kind: 'event', event: d.event };
        try {
          entry.subject.next(signal);
        } catch (e) {
          this.logger.error(`fan-out for ${streamKey} failed: ${(e as Error).message}`);
        }
      }
    }
  }

  /**
   * Makes the loop include a new stream now: wakes it when idle, or unblocks its XREAD. The UNBLOCK is
   * retried briefly in case it reached Redis before the XREAD it targets.
   */
  private kick(): void {
    if (this.wake) return this.wake();
    const gen = this.generation;
    const attempt = (n: number): void => {
      if (!this.running || !this.blocked || this.generation !== gen || this.clientId === null) return;
      this.commands.client('UNBLOCK', this.clientId).then(
        (unblocked) => {
          if (unblocked === 0 && n < 20) setTimeout(() => attempt(n + 1), 5).unref();
        },
        (e: unknown) => this.logger.warn(`CLIENT UNBLOCK failed: ${(e as Error).message}`),
      );
    };
    attempt(0);
  }
}
