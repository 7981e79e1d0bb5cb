import { Logger } from '@nestjs/common';
import { StreamEvent } from 'src/streaming/stream-event';
import { SeedEvent, StreamLog } from 'src/streaming/stream-log';
import { StreamLostError } from 'src/streaming/streaming.errors';

/**
 * The producer's side of one stream. It remembers the seq of its last event and passes it with every
 * append (`expectSeq`), so a log that lost the stream (Redis restarted empty, flushed, evicted its keys)
 * refuses the append with `StreamLostError` instead of silently starting again at seq 1. The writer then
 * re-seeds the stream with `seed()`, events standing for everything appended before (for a chat reply:
 * one `message` with the whole content so far, at the current offset; for research: nothing, the database
 * holds every event), and appends again. Seq therefore never goes back and followers see either the next
 * event or a jump they resolve (see `FollowOptions.gaps`), never a silent restart. A log holding a higher
 * seq than the producer's is not a loss but another writer (a sweep that ended the run): the error is
 * passed on and nothing is written.
 */
export class StreamWriter {
  private readonly logger = new Logger(StreamWriter.name);
  private seq = 0;
  /** How many times the log lost this stream and it was re-seeded. */
  reseeds = 0;

  constructor(
    private readonly log: StreamLog,
    readonly key: string,
    private readonly seed: () => SeedEvent[],
    private readonly onReseed?: () => void,
  ) {}

  /** Seq of the last event written (0: none). */
  get lastSeq(): number {
    return this.seq;
  }

  /**
   * For producers with their own numbering (research stores event `seq` in the database first): the
   * previous event had this seq even if its append failed, so a log that lags behind counts as lost and is
   * re-seeded to it, keeping the log's seq equal to the stored one.
   */
  advanceTo(previousSeq: number): void {
    this.seq = Math.max(this.seq, previousSeq);
  }

  /** `finish`: the event is the terminal one, and the stream is finished with it in one step (`AppendOptions`). */
  async append<T>(type: string, data: T, offset?: number, options: { finish?: boolean } = {}): Promise<StreamEvent<T>> {
    const event = await this.withReseed(() =>
      this.log.append(this.key, type, data, offset, { expectSeq: this.seq, finish: options.finish }),
    );
    this.seq = event.seq;
    return event;
  }

  async finish(): Promise<void> {
    await this.withReseed(() => this.log.finish(this.key, { expectSeq: this.seq }));
  }

  private async withReseed<R>(op: () => Promise<R>): Promise<R> {
    try {
      return await op();
    } catch (err) {
      // The log holds *more* than this producer wrote: someone else wrote the stream (a sweep that finished
      // a run whose lease it took over copies the stored events and the terminal one). Never write over it.
      if (!(err instanceof StreamLostError) || err.heldSeq > err.expectedSeq) throw err;
      this.reseeds++;
      this.onReseed?.();
      this.logger.warn(`${err.message}; re-seeding it`);
      // The seed events take the seqs of the producer's last events (ending at its last seq): the stream's
      // next event keeps the seq it would have had (a chat's final event id is stored before it is appended),
      // and a seed whose offset is the current one has the very id of the lost last event.
      const seed = this.seed();
      this.seq = (await this.log.reseed(this.key, Math.max(0, this.seq - seed.length), seed)).seq;
      return op();
    }
  }
}
