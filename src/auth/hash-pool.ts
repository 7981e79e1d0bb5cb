/** Thrown when the bounded wait queue is full: the caller answers 503 with Retry-After. */
export class PoolSaturatedError extends Error {
  constructor() {
    super('hash pool saturated');
    this.name = 'PoolSaturatedError';
  }
}

/**
 * A counting semaphore with a bounded FIFO wait queue. At most `concurrency` tasks run; at most
 * `queueMax` wait; anything beyond is refused at once, so a flood costs neither memory nor latency.
 */
export class BoundedPool {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly queueMax: number,
  ) {}

  get stats(): { running: number; waiting: number; concurrency: number; queueMax: number } {
    return {
      running: this.running,
      waiting: this.waiting.length,
      concurrency: this.concurrency,
      queueMax: this.queueMax,
    };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueMax) throw new PoolSaturatedError();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes straight to the next waiter
      else this.running--;
    }
  }
}
