import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { MetricsService } from 'src/common/metrics/metrics.service';
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
 * - With the embedded database there is one process (the database belongs to it): stamps live in memory.
 * - On a shared PostgreSQL without Redis other instances cannot tell this one about their writes:
 *   `current` returns null and callers do not cache.
 *
 * A bump that fails (Redis down or unreachable at that moment) does not fail the write: the write has
 * committed, so answering 500 would only make the client retry a change that holds. It is logged (warn)
 * and counted (`cache_stamp_bump_failures_total`); the caches then rely on their TTL (StampedCache,
 * CACHE_TTL_MS): a value loaded before the write is served at most CACHE_TTL_MS after it was loaded, so at
 * most CACHE_TTL_MS (default 30 s) after the commit, on every instance.
 */
@Injectable()
export class VersionStamps {
  readonly mode: 'redis' | 'local' | 'off';
  private readonly logger = new Logger(VersionStamps.name);
  private readonly local = new Map<string, string>();
  private readonly prefix: string;
  private lastReadWarning = 0;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.mode = redis ? 'redis' : config.db.embedded ? 'local' : 'off';
    this.prefix = `${config.redisKeyPrefix}stamp:`;
  }

  /**
   * The scope's current stamp, or null when values must not be cached. Never rejects: when Redis cannot be
   * read the caller loads from the database without caching (logged at most every 10 s, counted as
   * `cache_stamp_read_failures_total`), so authentication and the agent chain keep working without Redis.
   */
  async current(scope: string): Promise<string | null> {
    try {
      return await this.read(scope);
    } catch (err) {
      const kind = scopeKind(scope);
      this.metrics.stampReadFailed(kind);
      if (Date.now() - this.lastReadWarning > 10_000) {
        this.lastReadWarning = Date.now();
        this.logger.warn(
          { scope: kind, reason: (err as Error).message },
          'version stamp read failed: loading from the database without caching',
        );
      }
      return null;
    }
  }

  /**
   * The scope's stamp if it exists, else null (then call `current`). Unlike `current` it never creates one,
   * so it may be asked about scopes named by input not yet verified (AuthPrefetch). Never rejects.
   */
  async peek(scope: string): Promise<string | null> {
    if (this.mode === 'off') return null;
    if (this.mode === 'local') return this.local.get(scope) ?? null;
    const key = this.prefix + scope;
    return this.redis!.get(key).catch(() => null);
  }

  private async read(scope: string): Promise<string | null> {
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

  /**
   * Call after a write to the scope has committed: every cached value of the scope becomes stale. Never
   * rejects: a failure is logged and counted, and the caches' TTL bounds the staleness (see the class).
   */
  async bump(scope: string): Promise<void> {
    if (this.mode === 'local') this.local.set(scope, randomUUID());
    else if (this.mode === 'redis') {
      try {
        await this.redis!.set(this.prefix + scope, randomUUID());
      } catch (err) {
        const kind = scopeKind(scope);
        this.logger.warn(
          { scope: kind, reason: (err as Error).message },
          'version stamp bump failed after commit: cached values of the scope may stay stale until their TTL',
        );
        this.metrics.stampBumpFailed(kind);
      }
    }
  }
}

/** The first segment of a scope (`agents`, `member`): a bounded label, never ids. */
const scopeKind = (scope: string): string => scope.split(':', 1)[0];

/**
 * A bounded map of values loaded under a stamp (see VersionStamps). Concurrent misses of one key share
 * one load; failed loads are not kept.
 *
 * A value is also dropped `ttlMs` after its load started, whatever the stamp: the stamp makes a cache
 * exact, the TTL bounds how stale it can get when a bump was lost (VersionStamps.bump failed after a
 * commit). Since a value reflecting an older state was loaded before that commit, it is served at most
 * `ttlMs` after the commit. Apps pass CACHE_TTL_MS (AppConfig.cacheTtlMs, default 30 s).
 */
export class StampedCache<V> {
  private readonly entries = new Map<string, { stamp: string; value: Promise<V>; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(options: { ttlMs: number; maxEntries?: number }) {
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  get(key: string, stamp: string | null, load: () => Promise<V>): Promise<V> {
    if (stamp === null) return load();
    const hit = this.entries.get(key);
    if (hit && hit.stamp === stamp && Date.now() < hit.expiresAt) return hit.value;
    const expiresAt = Date.now() + this.ttlMs; // from the start of the load: conservative
    const value = load();
    this.entries.delete(key);
    this.entries.set(key, { stamp, value, expiresAt });
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
