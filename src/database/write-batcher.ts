/** What a batcher does with the items of one batch: one statement (one round trip), a result per item, in order. */
export type WriteMany<T, R> = (items: T[]) => Promise<R[]>;

export interface WriteBatcherOptions<T> {
  /** At most this many items per statement (PostgreSQL takes at most 65,535 parameters per statement). */
  maxBatch: number;
  /**
   * Items with the same key never share a statement: a later one waits for the next batch, in order. (An
   * UPDATE … FROM (VALUES …) updates a row once even when two value rows match it.)
   */
  key?: (item: T) => string;
}

interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Gathers the writes of many concurrent callers into one statement per round trip (issue 18), like the audit
 * batcher (src/common/audit/audit.service.ts): items submitted in the same event-loop turn, or while a
 * statement is in flight, are written together by the next one; statements never overlap, so a busy
 * process makes one round trip per batch instead of one per caller, and an idle one writes at once.
 *
 * `submit` resolves with the item's own result once its statement committed (each statement is its own
 * transaction), so awaiting it still means "stored". A failed statement rejects every caller of the batch
 * with its error, unless the error is about a row's data (SQLSTATE class 22, 23 or 54: a value a column
 * refuses): then each item is written on its own, so a refused item fails only its own caller.
 */
export class WriteBatcher<T, R> {
  private queue: Pending<T, R>[] = [];
  private running: Promise<void> | null = null;

  constructor(
    private readonly writeMany: WriteMany<T, R>,
    private readonly o: WriteBatcherOptions<T>,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.running ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  /** Waits until every item submitted so far is written (tests and graceful shutdown). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) await this.write(this.take());
    } finally {
      this.running = null;
    }
  }

  /** The next batch: the oldest items, at most maxBatch, at most one per key (the others keep their place). */
  private take(): Pending<T, R>[] {
    const key = this.o.key;
    if (!key) return this.queue.splice(0, this.o.maxBatch);
    const batch: Pending<T, R>[] = [];
    const rest: Pending<T, R>[] = [];
    const keys = new Set<string>();
    for (const p of this.queue) {
      const k = key(p.item);
      if (batch.length < this.o.maxBatch && !keys.has(k)) {
        keys.add(k);
        batch.push(p);
      } else rest.push(p);
    }
    this.queue = rest;
    return batch;
  }

  private async write(batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.writeMany(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (err) {
      if (batch.length === 1 || !isRowDataError(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      for (const p of batch) {
        await this.writeMany([p.item]).then(
          ([r]) => p.resolve(r),
          (e: unknown) => p.reject(e),
        );
      }
    }
  }
}

/** A PostgreSQL error caused by a row's values (data exception, integrity violation, program limit). */
export function isRowDataError(err: unknown): boolean {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}
