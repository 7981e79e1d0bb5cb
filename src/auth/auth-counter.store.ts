import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AuthCounterRepository } from 'src/auth/auth-counter.repository';
import { MemoryCounters } from 'src/common/redis/memory-counters';
import { RedisFallback } from 'src/common/redis/redis-fallback.service';
import { REDIS_CLIENT } from 'src/common/redis/redis.module';
import { APP_CONFIG, AppConfig } from 'src/config/env';

/**
 * Counters behind the per-IP rate limits and the lock-outs: Redis when configured (shared by every
 * instance), else the database. Same semantics either way. While a configured Redis is unreachable they
 * live in this instance's memory (RedisFallback logs and counts it), so login keeps working and keeps its
 * limits; counts taken during the outage are per instance and are not carried back to Redis.
 */
@Injectable()
export class AuthCounterStore {
  private readonly prefix: string;
  private readonly memory = new MemoryCounters();

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    private readonly db: AuthCounterRepository,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly fallback: RedisFallback,
  ) {
    this.prefix = `${config.redisKeyPrefix}auth:`;
  }

  /** Fixed-window hit; returns the count in the window and the seconds until it resets. */
  async hitFixed(key: string, windowSec: number): Promise<{ count: number; ttlSec: number }> {
    const redis = this.redis;
    if (!redis) return this.db.hitFixed(key, windowSec);
    const k = `${this.prefix}rl:${key}`;
    return this.onRedis(
      redis,
      async () => {
        const [[, count], [, ttl]] = (await redis.multi().incr(k).expire(k, windowSec, 'NX').ttl(k).exec()) as [
          [Error | null, number],
          [Error | null, number],
          [Error | null, number],
        ];
        return { count: Number(count), ttlSec: Math.max(1, Number(ttl)) };
      },
      () => this.memory.hitFixed(`rl:${key}`, windowSec),
    );
  }

  /** A failure: +1, forgotten `windowSec` after the last one. Returns the count. */
  async addFailure(key: string, windowSec: number): Promise<number> {
    const redis = this.redis;
    if (!redis) return this.db.hitSliding(key, windowSec);
    const k = `${this.prefix}fail:${key}`;
    return this.onRedis(
      redis,
      async () => {
        const [[, count]] = (await redis.multi().incr(k).expire(k, windowSec).exec()) as [[Error | null, number]];
        return Number(count);
      },
      () => this.memory.hitSliding(`fail:${key}`, windowSec),
    );
  }

  async lock(key: string, seconds: number): Promise<void> {
    const redis = this.redis;
    if (!redis) return this.db.lock(key, seconds);
    await this.onRedis(
      redis,
      async () => void (await redis.set(`${this.prefix}lock:${key}`, '1', 'EX', seconds)),
      () => this.memory.lock(`lock:${key}`, seconds),
    );
  }

  /** Seconds left on the lock of `key`, 0 when not locked. */
  async lockedFor(key: string): Promise<number> {
    const redis = this.redis;
    if (!redis) return this.db.lockedFor(key);
    // A lock taken in memory during an outage still holds once Redis is back.
    const local = this.memory.lockedFor(`lock:${key}`);
    const remote = await this.onRedis(
      redis,
      async () => {
        const ttl = await redis.ttl(`${this.prefix}lock:${key}`);
        return ttl > 0 ? ttl : 0;
      },
      () => 0,
    );
    return Math.max(local, remote);
  }

  async reset(key: string): Promise<void> {
    const redis = this.redis;
    if (!redis) return this.db.reset(key);
    this.memory.reset(`fail:${key}`);
    this.memory.reset(`lock:${key}`);
    await this.onRedis(
      redis,
      async () => void (await redis.del(`${this.prefix}fail:${key}`, `${this.prefix}lock:${key}`)),
      () => undefined,
    );
  }

  private onRedis<T>(redis: Redis, remote: () => Promise<T>, local: () => T): Promise<T> {
    return this.fallback.run('auth', redis, remote, local);
  }
}
