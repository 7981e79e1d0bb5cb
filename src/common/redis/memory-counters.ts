interface Entry {
  count: number;
  /** ms epoch when the window (and the count) expires. */
  expiresAt: number;
  lockedUntil: number;
}

/**
 * Counters with the semantics of AuthCounterStore (fixed and sliding windows, locks), in this process's
 * memory: the fallback while Redis is unreachable. Bounded: expired entries are swept as new ones come,
 * and past `maxEntries` the oldest are dropped (a flood of random keys cannot exhaust memory).
 */
export class MemoryCounters {
  private readonly entries = new Map<string, Entry>();
  private lastSweep = Date.now();

  constructor(private readonly maxEntries = 100_000) {}

  hitFixed(key: string, windowSec: number): { count: number; ttlSec: number } {
    const now = Date.now();
    const e = this.live(key, now);
    if (!e || e.expiresAt <= now) {
      const fresh = { count: 1, expiresAt: now + windowSec * 1000, lockedUntil: e?.lockedUntil ?? 0 };
      this.set(key, fresh);
      return { count: 1, ttlSec: windowSec };
    }
    e.count++;
    return { count: e.count, ttlSec: Math.max(1, Math.ceil((e.expiresAt - now) / 1000)) };
  }

  hitSliding(key: string, windowSec: number): number {
    const now = Date.now();
    const e = this.live(key, now);
    const count = e && e.expiresAt > now ? e.count + 1 : 1;
    this.set(key, { count, expiresAt: now + windowSec * 1000, lockedUntil: e?.lockedUntil ?? 0 });
    return count;
  }

  lock(key: string, seconds: number): void {
    const now = Date.now();
    const e = this.live(key, now) ?? { count: 0, expiresAt: now, lockedUntil: 0 };
    e.lockedUntil = now + seconds * 1000;
    e.expiresAt = Math.max(e.expiresAt, e.lockedUntil);
    this.set(key, e);
  }

  lockedFor(key: string): number {
    const now = Date.now();
    const e = this.live(key, now);
    return e && e.lockedUntil > now ? Math.max(1, Math.ceil((e.lockedUntil - now) / 1000)) : 0;
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private live(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.expiresAt <= now && e.lockedUntil <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private set(key: string, e: Entry): void {
    this.entries.delete(key); // re-insert: Map order is then oldest-touched first
    this.entries.set(key, e);
    const now = Date.now();
    if (now - this.lastSweep > 10_000) {
      this.lastSweep = now;
      for (const [k, v] of this.entries) if (v.expiresAt <= now && v.lockedUntil <= now) this.entries.delete(k);
    }
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}
