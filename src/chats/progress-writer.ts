import { Logger } from '@nestjs/common';
import { MessageRepository } from 'src/chats/message.repository';

export interface ProgressWriterOptions {
  teamId: string;
  messageId: string;
  persistIntervalMs: number;
  persistChars: number;
  leaseMs: number;
  /** Called after every database write that succeeded (each one also extended the message's lease). */
  onWrite: () => void;
}

/** How early (by Date.now()) a tick still writes: a write started at one tick is due again at the next. */
const TICK_SLACK_MS = 5;

/** One timer per period for all the writers of the process (unref'd, stopped when the last writer leaves). */
const ProgressClock = {
  clocks: new Map<number, { timer: NodeJS.Timeout; writers: Set<ProgressWriter> }>(),
  join(period: number, w: ProgressWriter): void {
    let c = this.clocks.get(period);
    if (!c) {
      const writers = new Set<ProgressWriter>();
      const timer = setInterval(() => writers.forEach((x) => x.tick()), period);
      timer.unref();
      c = { timer, writers };
      this.clocks.set(period, c);
    }
    c.writers.add(w);
  },
  leave(period: number, w: ProgressWriter): void {
    const c = this.clocks.get(period);
    if (!c?.writers.delete(w) || c.writers.size) return;
    clearInterval(c.timer);
    this.clocks.delete(period);
  },
};

/**
 * Persists a generating message's content in batches: when `persistChars` new characters are waiting, or
 * every `persistIntervalMs` when some are. Each batch extends the lease (the JobRunner renews it when no
 * batch did for a third of `leaseMs`). At most one
 * write is in flight (bursts coalesce into the next write), and a write appends only the new part
 * (`content || part`), so the bytes written grow with the reply's length, not with its number of deltas.
 * After a failed write the next one rewrites the whole content, so a lost append never leaves a gap.
 *
 * The writers of one process tick together (one shared timer per period, ProgressClock), so the interval
 * writes of all generating replies fall in the same event-loop turn and MessageRepository writes them as
 * one statement (issue 18: one round trip per flush, not one per reply).
 */
export class ProgressWriter {
  private readonly logger = new Logger(ProgressWriter.name);
  private content = '';
  private persisted = 0;
  private needFull = false;
  private inFlight: Promise<void> | null = null;
  private lastWriteAt = Date.now();
  private readonly period: number;
  private stopped = false;

  constructor(
    private readonly messages: MessageRepository,
    private readonly o: ProgressWriterOptions,
  ) {
    this.period = Math.max(10, Math.min(o.persistIntervalMs, Math.floor(o.leaseMs / 3)));
    ProgressClock.join(this.period, this);
  }

  /** The accumulated content grew. */
  update(content: string): void {
    this.content = content;
    if (content.length - this.persisted >= this.o.persistChars) this.persist();
  }

  /**
   * Stops the timer and waits for the write in flight. Returns how much of the content is surely stored
   * (0 after a failed write), so the final write appends only the rest.
   */
  async stop(): Promise<number> {
    ProgressClock.leave(this.period, this);
    this.stopped = true;
    while (this.inFlight) await this.inFlight;
    return this.needFull ? 0 : this.persisted;
  }

  /** The shared clock's tick. A tick may come a few ms early by Date.now() (the timer runs on the loop's clock). */
  tick(): void {
    if (this.inFlight) return;
    const idle = Date.now() - this.lastWriteAt;
    if (this.content.length > this.persisted && idle >= this.o.persistIntervalMs - TICK_SLACK_MS) this.persist();
  }

  private persist(): void {
    if (this.inFlight) return; // the write in flight is followed by another if enough is waiting
    const { teamId, messageId, leaseMs } = this.o;
    const to = this.content.length;
    const full = this.needFull;
    const part = this.content.slice(this.persisted);
    const snapshot = this.content;
    this.run(
      () =>
        full
          ? this.messages.saveProgress(teamId, messageId, snapshot, leaseMs)
          : this.messages.appendProgress(teamId, messageId, part, leaseMs),
      () => {
        this.persisted = to;
        this.needFull = false;
      },
    );
  }

  private run(write: () => Promise<void>, onDone: () => void): void {
    this.lastWriteAt = Date.now();
    this.inFlight = write()
      .then(
        () => {
          onDone();
          this.o.onWrite();
        },
        (err: Error) => {
          this.needFull = true;
          this.logger.warn(`message ${this.o.messageId}: progress write failed: ${err.message}`);
        },
      )
      .finally(() => {
        this.inFlight = null;
        if (!this.stopped && this.content.length - this.persisted >= this.o.persistChars) this.persist();
      });
  }
}
