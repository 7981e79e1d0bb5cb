import type { ChainableCommander } from 'ioredis';
import type Redis from 'ioredis';

type Callback<T> = (err?: Error | null, result?: T) => void;

const batches = new WeakMap<Redis, RedisBatch>();

/**
 * Commands queued during one turn of the event loop go to Redis together, as one pipeline: one write, one
 * round trip, one reply to read, instead of one each. A request's guards queue theirs this way (the rate
 * limit's counter, the token's denylist entry, the member's version stamp: see AuthPrefetch), so that the
 * reads one request makes before its handler cost one round trip.
 *
 * The pipeline is sent when the turn's promise jobs are done, so commands queued a few `await`s later in the
 * same turn still join it (not those queued after a timer, an I/O callback or a `process.nextTick`). Each command settles on its own, with the
 * errors a command sent alone would get (a pipeline is not a transaction): a command failing because Redis
 * is unreachable fails the same way, with `commandTimeout` applying to each, so the callers' fallbacks hold.
 */
export class RedisBatch {
  private pending: ChainableCommander | null = null;

  private constructor(private readonly redis: Redis) {}

  /** The batch of a client (one per client, so that every user of the client shares its turns). */
  static of(redis: Redis): RedisBatch {
    let batch = batches.get(redis);
    if (!batch) batches.set(redis, (batch = new RedisBatch(redis)));
    return batch;
  }

  /** Queues one command on this turn's pipeline: `queue` adds it with the callback given. */
  run<T>(queue: (pipeline: ChainableCommander, done: Callback<T>) => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (!this.pending) {
        this.pending = this.redis.pipeline();
        // A tick queued from a promise job runs once the promise jobs are all done: at the end of this turn's
        // chain of awaits, before any other I/O callback (setImmediate would wait for every other socket
        // event of the poll phase: milliseconds under load).
        queueMicrotask(() => process.nextTick(() => this.flush()));
      }
      queue(this.pending, (err, result) => (err ? reject(err) : resolve(result as T)));
    });
  }

  private flush(): void {
    const pipeline = this.pending;
    this.pending = null;
    // Each command's own callback reports its outcome; the pipeline's summary is not needed.
    pipeline?.exec().catch(() => undefined);
  }
}
