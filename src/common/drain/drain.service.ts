import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env';

/** The `retry:` hint (ms) given to SSE clients told to reconnect elsewhere, and Retry-After (s) of refusals. */
export const DRAIN_RETRY_MS = 1000;
export const DRAIN_RETRY_AFTER_SEC = 5;
/**
 * Share of `SHUTDOWN_TIMEOUT_MS` the drain may wait for tracked work. The rest is for closing the HTTP
 * server (10 %, see graceful-shutdown.ts) and Nest's hooks (30 %: stopping the jobs still running,
 * flushing queues, closing Redis and the database). It was 75 %, which left 25 % for both.
 */
export const DRAIN_SHARE = 0.6;

/**
 * Graceful drain. `begin()` (called on shutdown, idempotent):
 * 1. flags the instance as draining: readiness answers 503 and new streams are refused with 503 + Retry-After;
 * 2. calls every `onDrain` callback (SSE writers send a `retry:` hint and end, so clients reconnect to
 *    another instance);
 * 3. waits for the work registered with `track()` (message flushes…), at most `DRAIN_SHARE` of
 *    `config.shutdownTimeoutMs` so the rest of the shutdown still fits in the forced-exit deadline.
 */
@Injectable()
export class DrainService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(DrainService.name);
  private readonly callbacks = new Set<() => void>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private draining: Promise<void> | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  isDraining(): boolean {
    return this.draining !== null;
  }

  /**
   * Runs `cb` when the drain begins (at once if it already has). Returns the unsubscribe function: call it
   * when the response ends normally so finished streams do not pile up.
   */
  onDrain(cb: () => void): () => void {
    if (this.draining) {
      this.safely(cb);
      return () => undefined;
    }
    this.callbacks.add(cb);
    return () => this.callbacks.delete(cb);
  }

  /** Registers in-flight work the drain waits for; returns the same promise. */
  track<T>(work: Promise<T>): Promise<T> {
    const p = work.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return work;
  }

  /** Work still in flight (monitoring). */
  inFlightCount(): number {
    return this.inFlight.size;
  }

  begin(): Promise<void> {
    this.draining ??= this.run();
    return this.draining;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.begin();
  }

  private async run(): Promise<void> {
    const callbacks = [...this.callbacks];
    this.callbacks.clear();
    this.logger.log(
      `draining: ${callbacks.length} open stream(s) told to reconnect, ${this.inFlight.size} task(s) in flight`,
    );
    for (const cb of callbacks) this.safely(cb);
    const budgetMs = Math.floor(this.config.shutdownTimeoutMs * DRAIN_SHARE);
    const deadline = Date.now() + budgetMs;
    // Work tracked while waiting (a flush started by a job that was just told to stop) is awaited too.
    while (this.inFlight.size && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        timer.unref();
      });
      await Promise.race([Promise.all([...this.inFlight]), timeout]);
      clearTimeout(timer);
    }
    if (this.inFlight.size)
      this.logger.warn(`drain budget of ${budgetMs} ms spent; ${this.inFlight.size} task(s) abandoned`);
    else this.logger.log('drained');
  }

  private safely(cb: () => void): void {
    try {
      cb();
    } catch (err) {
      this.logger.error({ err }, 'drain callback failed');
    }
  }
}
