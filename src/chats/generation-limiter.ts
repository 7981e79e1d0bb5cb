import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { MessageRepository } from 'src/chats/message.repository';
import { REDIS_CLIENT } from 'src/common/redis/redis.module';
import { APP_CONFIG, AppConfig } from 'src/config/env';

export const RATE_WINDOW_MS = 60_000;

/** Who starts a generation, and the assistant message it will write. */
export interface GenerationSlot {
  teamId: string;
  userId: string;
  messageId: string;
}

export type Reservation =
  { ok: true } | { ok: false; reason: 'rate'; retryAfterMs: number } | { ok: false; reason: 'concurrency' };

interface Backend {
  reserve(slot: GenerationSlot, rateMax: number, concurrencyMax: number, leaseMs: number): Promise<Reservation>;
  renew(slot: GenerationSlot, leaseMs: number): Promise<void>;
  /** The generation ended: it no longer counts as running (it still counts in the rate window). */
  release(slot: GenerationSlot): Promise<void>;
  /** The generation never started (its messages were not stored): forget it entirely. */
  abandon(slot: GenerationSlot): Promise<void>;
}

/**
 * The per-user message rate (generations started in the last minute) and the cap on concurrent
 * generations, decided atomically in one step per send, so concurrent sends cannot overshoot either limit.
 *
 * With Redis (several instances): one Lua script over two sorted sets per user, the rate window (member =
 * message, score = start time) and the running set (score = lease expiry, renewed with the message's
 * database lease, so a generation whose instance died stops counting when its lease runs out). The clock is
 * Redis's own (`TIME`), the same for every instance. A key's TTL is only ever extended (see KEEP), so
 * instances with different lease lengths can share the keys.
 *
 * Without Redis the service is one instance (README), and the same state lives in this process: exact,
 * since a generation runs in the process that counts it. After a restart the rate window of a user is
 * seeded once from the database (the assistant messages created in the last minute).
 *
 * Nothing here is on the database's critical path: a send costs one Redis round trip or none.
 */
@Injectable()
export class GenerationLimiter {
  private readonly backend: Backend;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    messages: MessageRepository,
    @Inject(REDIS_CLIENT) redis: Redis | null,
  ) {
    this.backend = redis ? new RedisBackend(redis, `${config.redisKeyPrefix}chat:limit:`) : new MemoryBackend(messages);
  }

  reserve(slot: GenerationSlot): Promise<Reservation> {
    const { messagesPerMinute, maxConcurrentGenerations, leaseMs } = this.config.chat;
    return this.backend.reserve(slot, messagesPerMinute, maxConcurrentGenerations, leaseMs);
  }

  renew(slot: GenerationSlot): Promise<void> {
    return this.backend.renew(slot, this.config.chat.leaseMs);
  }

  release(slot: GenerationSlot): Promise<void> {
    return this.backend.release(slot);
  }

  abandon(slot: GenerationSlot): Promise<void> {
    return this.backend.abandon(slot);
  }
}

interface UserWindow {
  /** Start times (ms) of the generations in the rate window, oldest first, with their message ids. */
  starts: { at: number; id: string }[];
  running: Set<string>;
}

class MemoryBackend implements Backend {
  private readonly users = new Map<string, UserWindow>();
  private readonly seeding = new Map<string, Promise<UserWindow>>();

  constructor(private readonly messages: MessageRepository) {}

  async reserve(slot: GenerationSlot, rateMax: number, concurrencyMax: number): Promise<Reservation> {
    const w = this.users.get(userKey(slot)) ?? (await this.seed(slot));
    // Synchronous from here on: no other send of this process can interleave.
    const now = Date.now();
    while (w.starts.length && w.starts[0].at <= now - RATE_WINDOW_MS) w.starts.shift();
    if (w.starts.length >= rateMax) {
      return { ok: false, reason: 'rate', retryAfterMs: w.starts[w.starts.length - rateMax].at + RATE_WINDOW_MS - now };
    }
    if (w.running.size >= concurrencyMax) return { ok: false, reason: 'concurrency' };
    w.starts.push({ at: now, id: slot.messageId });
    w.running.add(slot.messageId);
    return { ok: true };
  }

  renew(): Promise<void> {
    return Promise.resolve(); // a generation of this process counts until it is released
  }

  release(slot: GenerationSlot): Promise<void> {
    const w = this.users.get(userKey(slot));
    w?.running.delete(slot.messageId);
    this.forgetIfIdle(slot, w);
    return Promise.resolve();
  }

  abandon(slot: GenerationSlot): Promise<void> {
    const w = this.users.get(userKey(slot));
    if (w) {
      w.running.delete(slot.messageId);
      w.starts = w.starts.filter((s) => s.id !== slot.messageId);
    }
    this.forgetIfIdle(slot, w);
    return Promise.resolve();
  }

  /** A user's window, seeded from the database the first time this process sees the user. */
  private seed(slot: GenerationSlot): Promise<UserWindow> {
    const key = userKey(slot);
    let pending = this.seeding.get(key);
    if (!pending) {
      pending = this.messages
        .recentGenerationStarts(slot.teamId, slot.userId, RATE_WINDOW_MS)
        .then((rows) => {
          const w = this.users.get(key) ?? {
            starts: rows.map((r) => ({ at: r.at.getTime(), id: r.id })),
            running: new Set<string>(),
          };
          this.users.set(key, w);
          return w;
        })
        .finally(() => this.seeding.delete(key));
      this.seeding.set(key, pending);
    }
    return pending;
  }

  private forgetIfIdle(slot: GenerationSlot, w: UserWindow | undefined): void {
    // Keep the window while it can still refuse a send; idle users cost nothing.
    if (w && !w.running.size && (!w.starts.length || w.starts[w.starts.length - 1].at <= Date.now() - RATE_WINDOW_MS))
      this.users.delete(userKey(slot));
  }
}

/**
 * Key expiry shared by the scripts. Instances of one deployment may run with different CHAT_LEASE_MS (or
 * window) values while they share these keys, so a key's TTL is only ever extended, never shortened: a
 * plain `PEXPIRE key leaseMs` from an instance with a short lease would let the whole running set expire
 * while longer leases in it are still live, and the concurrency cap would be lost.
 * - `keepFor(key, ms)`: the key lives at least `ms` more (PTTL compare; `PEXPIRE … GT` needs Redis 7, this
 *   works on Redis 6 too). A key without a TTL (PTTL -1) gets one.
 * - `keepRunning(key, now)`: the running set lives until its latest lease expiry (its highest score, Redis
 *   clock), whoever granted that lease.
 */
const KEEP = `
local function keepFor(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
local function keepRunning(key, now)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then keepFor(key, math.ceil(tonumber(last[2]) - now)) end
end
`;

/**
 * KEYS: rate window, running set. ARGV: member, rate max, concurrency max, lease ms, window ms.
 * Returns {0} (reserved), {1, retryAfterMs} (rate) or {2} (concurrency).
 */
const RESERVE = `${KEEP}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local rateMax = tonumber(ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
if n >= rateMax then
  local oldest = redis.call('ZRANGE', KEYS[1], n - rateMax, n - rateMax, 'WITHSCORES')
  return {1, tonumber(oldest[2]) + window - now}
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return {2} end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
keepFor(KEYS[1], window)
keepRunning(KEYS[2], now)
return {0}
`;

/** KEYS: running set. ARGV: member, lease ms. Extends the member's expiry if it is still there. */
const RENEW = `${KEEP}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1]) == 1 then
  keepRunning(KEYS[1], now)
end
return 0
`;

type LimitRedis = Redis & {
  chatLimitReserve(
    rate: string,
    running: string,
    member: string,
    rateMax: number,
    concMax: number,
    leaseMs: number,
    windowMs: number,
  ): Promise<number[]>;
  chatLimitRenew(running: string, member: string, leaseMs: number): Promise<number>;
};

class RedisBackend implements Backend {
  private readonly redis: LimitRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('chatLimitReserve', { numberOfKeys: 2, lua: RESERVE });
    redis.defineCommand('chatLimitRenew', { numberOfKeys: 1, lua: RENEW });
    this.redis = redis as LimitRedis;
  }

  async reserve(slot: GenerationSlot, rateMax: number, concurrencyMax: number, leaseMs: number): Promise<Reservation> {
    const [rate, running] = this.keys(slot);
    const r = await this.redis.chatLimitReserve(
      rate,
      running,
      slot.messageId,
      rateMax,
      concurrencyMax,
      leaseMs,
      RATE_WINDOW_MS,
    );
    if (r[0] === 1) return { ok: false, reason: 'rate', retryAfterMs: r[1] };
    if (r[0] === 2) return { ok: false, reason: 'concurrency' };
    return { ok: true };
  }

  async renew(slot: GenerationSlot, leaseMs: number): Promise<void> {
    await this.redis.chatLimitRenew(this.keys(slot)[1], slot.messageId, leaseMs);
  }

  async release(slot: GenerationSlot): Promise<void> {
    await this.redis.zrem(this.keys(slot)[1], slot.messageId);
  }

  async abandon(slot: GenerationSlot): Promise<void> {
    const [rate, running] = this.keys(slot);
    await this.redis.multi().zrem(rate, slot.messageId).zrem(running, slot.messageId).exec();
  }

  private keys(slot: GenerationSlot): [string, string] {
    // One hash tag per user: both keys live in the same cluster slot, as a script needs.
    const base = `${this.prefix}{${userKey(slot)}}`;
    return [`${base}:rate`, `${base}:running`];
  }
}

function userKey(slot: GenerationSlot): string {
  return `${slot.teamId}:${slot.userId}`;
}
