import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AuthCounterRepository } from 'src/auth/auth-counter.repository';
import { REDIS_CLIENT } from 'src/common/redis/redis.module';
import { APP_CONFIG, AppConfig } from 'src/config/env';

/**
 * Counters behind the per-IP rate limits and the lock-outs: Redis when configured (shared by every
 * instance), else the database. Same semantics either way.
 */
@Injectable()
export class AuthCounterStore {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    private readonly db: AuthCounterRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.prefix = `${config.redisKeyPrefix}auth:`;
  }

  /** Fixed-window hit; returns the count in the window and the seconds until it resets. */
  async hitFixed(key: string, windowSec: number): Promise<{ count: number; ttlSec: number }> {
    if (!this.redis) return this.db.hitFixed(key, windowSec);
    const k = `${this.prefix}rl:${key}`;
    const [[, count], [, ttl]] = (await this.redis.multi().incr(k).expire(k, windowSec, 'NX').ttl(k).exec()) as [
      [Error | null, number],
      [Error | null, number],
      [Error | null, number],
    ];
    return { count: Number(count), ttlSec: Math.max(1, Number(ttl)) };
  }

  /** A failure: +1, forgotten `windowSec` after the last one. Returns the count. */
  async addFailure(key: string, windowSec: number): Promise<number> {
    if (!this.redis) return this.db.hitSliding(key, windowSec);
    const k = `${this.prefix}fail:${key}`;
    const [[, count]] = (await this.redis.multi().incr(k).expire(k, windowSec).exec()) as [[Error | null, number]];
    return Number(count);
  }

  async lock(key: string, seconds: number): Promise<void> {
    if (!this.redis) return this.db.lock(key, seconds);
    await this.redis.set(`${this.prefix}lock:${key}`, '1', 'EX', seconds);
  }

  /** Seconds left on the lock of `key`, 0 when not locked. */
  async lockedFor(key: string): Promise<number> {
    if (!this.redis) return this.db.lockedFor(key);
    const ttl = await this.redis.ttl(`${this.prefix}lock:${key}`);
    return ttl > 0 ? ttl : 0;
  }

  async reset(key: string): Promise<void> {
    if (!this.redis) return this.db.reset(key);
    await this.redis.del(`${this.prefix}fail:${key}`, `${this.prefix}lock:${key}`);
  }
}
