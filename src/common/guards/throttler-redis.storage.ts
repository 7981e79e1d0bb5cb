import type { OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import type Redis from 'ioredis';
import type { RedisFallback } from 'src/common/redis/redis-fallback.service';

interface ThrottlerStorageRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * Fixed-window counter with blocking, in one Lua call so that every instance shares the same counts.
 * (The community Redis storage declares peer dependencies up to Nest 11 only; see docs/decisions.md.)
 */
const SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
local blockTtl = redis.call('PTTL', KEYS[2])
if blockTtl <= 0 and hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  blockTtl = tonumber(ARGV[3])
end
return { hits, ttl, blockTtl }
`;

/** The script as a command of the client (EVALSHA: its text is sent once per connection, not per request). */
type ThrottleRedis = Redis & {
  appThrottle(...args: [string, string, number, number, number]): Promise<[number, number, number]>;
};

/**
 * Shared counts on Redis; while Redis is unreachable, this instance's memory (the throttler's own in-memory
 * storage), so that the rate limit keeps applying and no request fails for it (see RedisFallback).
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly memory = new ThrottlerStorageService();

  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'throttle:',
    private readonly fallback?: RedisFallback,
  ) {
    redis.defineCommand('appThrottle', { numberOfKeys: 2, lua: SCRIPT });
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    name: string,
  ): Promise<ThrottlerStorageRecord> {
    if (!this.fallback) return this.incrementRemote(key, ttl, limit, blockDuration, name);
    return this.fallback.run(
      'throttle',
      this.redis,
      () => this.incrementRemote(key, ttl, limit, blockDuration, name),
      () => this.memory.increment(key, ttl, limit, blockDuration, name),
    );
  }

  onApplicationShutdown(): void {
    this.memory.onApplicationShutdown();
  }

  private async incrementRemote(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    name: string,
  ): Promise<ThrottlerStorageRecord> {
    const base = `${this.prefix}${name}:${key}`;
    // Sent while authentication's reads, started by the guard just before (AuthPrefetch), are in flight.
    const [hits, ttlMs, blockMs] = await (this.redis as ThrottleRedis).appThrottle(
      `${base}:hits`,
      `${base}:block`,
      ttl,
      limit,
      blockDuration || ttl,
    );
    const isBlocked = blockMs > 0;
    return {
      totalHits: hits,
      timeToExpire: Math.max(0, Math.ceil(ttlMs / 1000)),
      isBlocked,
      timeToBlockExpire: isBlocked ? Math.max(1, Math.ceil(blockMs / 1000)) : 0,
    };
  }
}
