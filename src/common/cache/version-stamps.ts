import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from 'src/common/redis/redis.module';
import { APP_CONFIG, AppConfig } from 'src/config/env';

/**
 * Version stamps that make in-process caches exact on every instance. A cache keeps each value with the
 * stamp of its scope (say, one team's agents) read before the value was loaded; a writer changes the
 * stamp after its transaction committed (`bump`); a reader whose cached stamp differs from the current
 * one reloads. So a value is never used after a write that it does not reflect.
 *
 * - With Redis, stamps live in Redis (one GET per check, ~0.1 ms) and are random, so that a Redis that
 *   lost its data cannot bring an old stamp back.
 * - With the embedded database there is one process (PGlite belongs to it): stamps live in memory.
 * - On a shared PostgreSQL without Redis other instances cannot tell this one about their writes:
 *   `current` returns null and callers do not cache.
 */
@Injectable()
export class VersionStamps {
  readonly mode: 'redis' | 'local' | 'off';
  private readonly local = new Map<string, string>();
  private readonly prefix: string;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.mode = redis ? 'redis' : config.db.url ? 'off' : 'local';
    this.prefix = `${config.redisKeyPrefix}stamp:`;
  }

  /** The scope's current stamp, or null when values must not be cached. */
  async current(scope: string): Promise<string | null> {
    if (this.mode === 'off') return null;
    if (this.mode === 'local') {
      let v = this.local.get(scope);
      if (!v) this.local.set(scope, (v = randomUUID()));
      return v;
    }
    const key = this.prefix + scope;
    const v = await this.redis!.get(key);
    if (v) return v;
    await this.redis!.set(key, randomUUID(), 'NX');
    return this.redis!.get(key);
  }

  /** Call after a write to the scope has committed: every cached value of the scope becomes stale. */
  async bump(scope: string): Promise<void> {
    if (this.mode === 'local') this.local.set(scope, randomUUID());
    else if (this.mode === 'redis') await this.redis!.set(this.prefix + scope, randomUUID());
  }
}

/**
 * A bounded map of values loaded under a stamp (see VersionStamps). Concurrent misses of one key share
 * one load; failed loads are not kept.
 */
export class StampedCache<V> {
  private readonly entries = new Map<string, { stamp: string; value: Promise<V> }>();

  constructor(private readonly maxEntries = 10_000) {}

  get(key: string, stamp: string | null, load: () => Promise<V>): Promise<V> {
    if (stamp === null) return load();
    const hit = this.entries.get(key);
    if (hit && hit.stamp === stamp) return hit.value;
    const value = load();
    this.entries.delete(key);
    this.entries.set(key, { stamp, value });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}
