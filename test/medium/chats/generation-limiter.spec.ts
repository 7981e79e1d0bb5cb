import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { GenerationLimiter, GenerationSlot, RATE_WINDOW_MS, Reservation } from 'src/chats/generation-limiter';
import { MessageRepository } from 'src/chats/message.repository';
import { AppConfig } from 'src/config/env';
import { DataSource } from 'typeorm';
import { registerTeam } from 'test/factories/auth.factory';
import { createTestApp, TestApp } from 'test/utils/test-app';

/**
 * GenerationLimiter against its real backends: the memory one (always) and the Redis one (when
 * TEST_REDIS_URL is set, under a key prefix of its own). The database is the test app's (embedded PostgreSQL, or the
 * real PostgreSQL with TEST_DATABASE_URL), used by the memory backend to seed a user's rate window.
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? '';
type BackendName = 'memory' | 'redis';
const BACKENDS: BackendName[] = REDIS_URL ? ['memory', 'redis'] : ['memory'];
if (!REDIS_URL) process.stderr.write('[generation-limiter] Redis backend SKIPPED: needs TEST_REDIS_URL\n');

const REFUSED_CONCURRENCY: Reservation = { ok: false, reason: 'concurrency' };
const OK: Reservation = { ok: true };

/** A fresh user: nobody else's reservations or database rows can touch it. */
const newUser = (teamId: string = randomUUID()) => ({ teamId, userId: randomUUID() });
const slotOf = (user: { teamId: string; userId: string }): GenerationSlot => ({ ...user, messageId: randomUUID() });

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('GenerationLimiter (medium: real backends, real database)', () => {
  let t: TestApp;
  let messages: MessageRepository;
  let ds: DataSource;
  let redis: Redis | null = null;
  const prefix = `test-limiter-${randomUUID()}:`;

  beforeAll(async () => {
    t = await createTestApp({ env: { CHAT_MESSAGES_PER_MINUTE: '5', CHAT_MAX_CONCURRENT_GENERATIONS: '3' } });
    messages = t.app.get(MessageRepository);
    ds = t.app.get(DataSource);
    if (REDIS_URL) redis = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    if (redis) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await redis.quit();
    }
    await t?.close();
  });

  /** A limiter built like the app builds it (same constructor, real repository / Redis), with its own limits. */
  function limiter(backend: BackendName, chat: Partial<AppConfig['chat']>): GenerationLimiter {
    const config: AppConfig = { ...t.config, redisKeyPrefix: prefix, chat: { ...t.config.chat, ...chat } };
    return new GenerationLimiter(config, messages, backend === 'redis' ? redis : null);
  }

  describe('as wired by the app (CHAT_MESSAGES_PER_MINUTE=5, CHAT_MAX_CONCURRENT_GENERATIONS=3)', () => {
    it('lets exactly 3 of 20 concurrent reservations of one user through', async () => {
      const lim = t.app.get(GenerationLimiter);
      const user = newUser();
      const results = await Promise.all(Array.from({ length: 20 }, () => lim.reserve(slotOf(user))));
      expect(results.filter((r) => r.ok)).toHaveLength(3);
      expect(results.filter((r) => !r.ok)).toEqual(Array(17).fill(REFUSED_CONCURRENCY));
    });

    it('allows 5 sequential generations a minute, then refuses with the rate', async () => {
      const lim = t.app.get(GenerationLimiter);
      const user = newUser();
      for (let i = 0; i < 5; i++) {
        const s = slotOf(user);
        expect(await lim.reserve(s)).toEqual(OK);
        await lim.release(s);
      }
      const r = await lim.reserve(slotOf(user));
      expect(r).toEqual({ ok: false, reason: 'rate', retryAfterMs: expect.any(Number) });
    });
  });

  describe.each(BACKENDS)('%s backend', (backend) => {
    it('never overshoots the concurrency cap: 20 concurrent reservations with max 3 give exactly 3', async () => {
      const lim = limiter(backend, { maxConcurrentGenerations: 3, messagesPerMinute: 1000 });
      const user = newUser();
      const slots = Array.from({ length: 20 }, () => slotOf(user));
      const results = await Promise.all(slots.map((s) => lim.reserve(s)));
      expect(results.filter((r) => r.ok)).toHaveLength(3);
      expect(results.filter((r) => !r.ok)).toEqual(Array(17).fill(REFUSED_CONCURRENCY));

      // Releasing one running generation frees exactly one place, even for a concurrent burst.
      await lim.release(slots[results.findIndex((r) => r.ok)]);
      const again = await Promise.all(Array.from({ length: 10 }, () => lim.reserve(slotOf(user))));
      expect(again.filter((r) => r.ok)).toHaveLength(1);
      expect(again.filter((r) => !r.ok)).toEqual(Array(9).fill(REFUSED_CONCURRENCY));
    });

    it('allows exactly `rate max` reserve/release cycles in the window, then refuses with 0 < retryAfterMs <= 60000', async () => {
      const lim = limiter(backend, { maxConcurrentGenerations: 100, messagesPerMinute: 5 });
      const user = newUser();
      for (let i = 0; i < 5; i++) {
        const s = slotOf(user);
        expect(await lim.reserve(s)).toEqual(OK);
        await lim.release(s);
      }
      for (let i = 0; i < 3; i++) {
        const r = await lim.reserve(slotOf(user));
        expect(r).toEqual({ ok: false, reason: 'rate', retryAfterMs: expect.any(Number) });
        const { retryAfterMs } = r as { retryAfterMs: number };
        expect(retryAfterMs).toBeGreaterThan(0);
        expect(retryAfterMs).toBeLessThanOrEqual(RATE_WINDOW_MS);
      }
    });

    it('abandon removes the start from the rate window; release does not', async () => {
      const lim = limiter(backend, { maxConcurrentGenerations: 100, messagesPerMinute: 2 });
      const user = newUser();
      const [a, b, c, d] = [slotOf(user), slotOf(user), slotOf(user), slotOf(user)];
      expect(await lim.reserve(a)).toEqual(OK);
      expect(await lim.reserve(b)).toEqual(OK);
      expect(await lim.reserve(slotOf(user))).toEqual(expect.objectContaining({ ok: false, reason: 'rate' }));

      await lim.release(b); // ended: no longer running, still started within the minute
      expect(await lim.reserve(slotOf(user))).toEqual(expect.objectContaining({ ok: false, reason: 'rate' }));

      await lim.abandon(a); // never started: forgotten entirely
      expect(await lim.reserve(c)).toEqual(OK);
      expect(await lim.reserve(d)).toEqual(expect.objectContaining({ ok: false, reason: 'rate' }));
    });

    it('release and abandon both free a concurrency place', async () => {
      const lim = limiter(backend, { maxConcurrentGenerations: 1, messagesPerMinute: 1000 });
      const user = newUser();
      const a = slotOf(user);
      expect(await lim.reserve(a)).toEqual(OK);
      expect(await lim.reserve(slotOf(user))).toEqual(REFUSED_CONCURRENCY);
      await lim.release(a);
      const b = slotOf(user);
      expect(await lim.reserve(b)).toEqual(OK);
      expect(await lim.reserve(slotOf(user))).toEqual(REFUSED_CONCURRENCY);
      await lim.abandon(b);
      expect(await lim.reserve(slotOf(user))).toEqual(OK);
    });

    it('counts users independently (and the same user id in another team separately)', async () => {
      const lim = limiter(backend, { maxConcurrentGenerations: 1, messagesPerMinute: 1 });
      const u1 = newUser();
      const u2 = newUser(u1.teamId);
      const u1Elsewhere = { teamId: randomUUID(), userId: u1.userId };
      const s1 = slotOf(u1);
      expect(await lim.reserve(s1)).toEqual(OK);
      expect(await lim.reserve(slotOf(u1))).toEqual(expect.objectContaining({ ok: false, reason: 'rate' }));
      await lim.release(s1);
      expect(await lim.reserve(slotOf(u1))).toEqual(expect.objectContaining({ ok: false, reason: 'rate' }));
      const [r2, r3] = await Promise.all([lim.reserve(slotOf(u2)), lim.reserve(slotOf(u1Elsewhere))]);
      expect(r2).toEqual(OK);
      expect(r3).toEqual(OK);
    });

    if (backend === 'redis') {
      it('stops counting a running generation whose lease expired (its instance died)', async () => {
        const leaseMs = 300;
        const lim = limiter(backend, { maxConcurrentGenerations: 1, messagesPerMinute: 1000, leaseMs });
        // The script's clock is Redis's own: read it the same way (ms).
        const redisNow = async () => {
          const [s, us] = await redis!.time();
          return Number(s) * 1000 + Math.floor(Number(us) / 1000);
        };
        const user = newUser();
        const t0 = await redisNow();
        expect(await lim.reserve(slotOf(user))).toEqual(OK); // never released nor renewed
        const second = await lim.reserve(slotOf(user));
        const t1 = await redisNow();
        // Only judged when it certainly ran within the first lease (no assumption about the test's speed).
        if (t1 < t0 + leaseMs) expect(second).toEqual(REFUSED_CONCURRENCY);
        // Every lease granted so far ends at or before t1 + leaseMs (Redis clock).
        await eventually(async () => (await redisNow()) > t1 + leaseMs, 'the leases to run out');
        const third = slotOf(user);
        expect(await lim.reserve(third)).toEqual(OK);
        // The new one counts again (the limiter did not simply forget the user).
        const t2 = await redisNow();
        const fourth = await lim.reserve(slotOf(user));
        const t3 = await redisNow();
        if (t3 < t2 + leaseMs) expect(fourth).toEqual(REFUSED_CONCURRENCY);
      });

      it('a renewed lease keeps counting (uniform lease, extended by renew)', async () => {
        const leaseMs = 300;
        const lim = limiter(backend, { maxConcurrentGenerations: 2, messagesPerMinute: 1000, leaseMs });
        const redisNow = async () => {
          const [s, us] = await redis!.time();
          return Number(s) * 1000 + Math.floor(Number(us) / 1000);
        };
        const user = newUser();
        const kept = slotOf(user);
        const lapsed = slotOf(user);
        expect(await lim.reserve(kept)).toEqual(OK);
        expect(await lim.reserve(lapsed)).toEqual(OK);
        // Keep renewing `kept` until the Redis clock is past every lease granted at reservation time.
        const granted = await redisNow();
        await eventually(async () => {
          await lim.renew(kept);
          return (await redisNow()) > granted + leaseMs;
        }, 'the first leases to run out');
        // Renewed just now: `kept` still counts (unless this machine paused a whole lease between two calls).
        const before = await redisNow();
        await lim.renew(kept);
        const [a, b] = [await lim.reserve(slotOf(user)), await lim.reserve(slotOf(user))];
        const after = await redisNow();
        if (after < before + leaseMs) {
          expect(a).toEqual(OK); // `lapsed` stopped counting
          expect(b).toEqual(REFUSED_CONCURRENCY); // `kept` and the new one count
        }
      });

      it('instances with different CHAT_LEASE_MS sharing the keys: a short lease never cuts the TTL of the running set below a longer live lease', async () => {
        // Two instances of one deployment (same key prefix), one with a lease of 60 s, one of 300 ms.
        const longLease = 60_000;
        const shortLease = 300;
        const long = limiter(backend, { maxConcurrentGenerations: 2, messagesPerMinute: 1000, leaseMs: longLease });
        const short = limiter(backend, { maxConcurrentGenerations: 2, messagesPerMinute: 1000, leaseMs: shortLease });
        const redisNow = async () => {
          const [s, us] = await redis!.time();
          return Number(s) * 1000 + Math.floor(Number(us) / 1000);
        };
        const user = newUser();
        const runningKey = `${prefix}chat:limit:{${user.teamId}:${user.userId}}:running`;
        const kept = slotOf(user);
        const shortOne = slotOf(user);
        expect(await long.reserve(kept)).toEqual(OK); // live for a minute, never renewed nor released
        expect(await short.reserve(shortOne)).toEqual(OK);
        await short.renew(shortOne); // renewing with the short lease must not shorten the key either
        // The key lives at least as long as the long lease (it was granted less than a minute ago).
        expect(await redis!.pttl(runningKey)).toBeGreaterThan(shortLease);
        // Once the short lease ran out (Redis clock), the long one still counts: one place is left, not two.
        const granted = await redisNow();
        await eventually(async () => (await redisNow()) > granted + shortLease, 'the short lease to run out');
        expect(await redis!.zscore(runningKey, kept.messageId)).not.toBeNull();
        expect(await long.reserve(slotOf(user))).toEqual(OK);
        expect(await short.reserve(slotOf(user))).toEqual(REFUSED_CONCURRENCY);
      });
    }

    if (backend === 'memory') {
      it('seeds a user’s rate window once from the database (assistant messages of the last minute)', async () => {
        const admin = await registerTeam(t);
        const agent = await t
          .http()
          .post('/api/agents')
          .set(admin.bearer)
          .send({ name: 'Seeded', provider: 'mock', model: 'mock-1' })
          .expect(201);
        const chat = await t.http().post('/api/chats').set(admin.bearer).send({ agentId: agent.body.id }).expect(201);
        const insert = (role: string, age: string) =>
          ds.query(
            `INSERT INTO messages (chat_id, team_id, role, content, status, created_at) VALUES ($1, $2, $3, 'x', 'complete', now() - $4::interval)`,
            [chat.body.id, admin.teamId, role, age],
          );
        // Counted: 3 replies within the minute. Not counted: an older reply and a user message.
        await insert('assistant', '30 seconds');
        await insert('assistant', '20 seconds');
        await insert('assistant', '1 second');
        await insert('assistant', '2 minutes');
        await insert('user', '1 second');

        const user = { teamId: admin.teamId, userId: admin.userId };
        const lim = limiter('memory', { maxConcurrentGenerations: 100, messagesPerMinute: 5 }); // a fresh process
        const results: Reservation[] = [];
        for (let i = 0; i < 4; i++) {
          const s = slotOf(user);
          const r = await lim.reserve(s);
          results.push(r);
          if (r.ok) await lim.release(s);
        }
        expect(results.slice(0, 2)).toEqual([OK, OK]);
        expect(results.slice(2)).toEqual([
          { ok: false, reason: 'rate', retryAfterMs: expect.any(Number) },
          { ok: false, reason: 'rate', retryAfterMs: expect.any(Number) },
        ]);
        const { retryAfterMs } = results[2] as { retryAfterMs: number };
        // The oldest counted start is the reply of 30 s ago: it leaves the window in about 30 s.
        expect(retryAfterMs).toBeGreaterThan(0);
        expect(retryAfterMs).toBeLessThanOrEqual(RATE_WINDOW_MS - 20_000);

        // Another user of the same team (no rows) is not affected by those rows.
        expect(await lim.reserve(slotOf({ teamId: admin.teamId, userId: randomUUID() }))).toEqual(OK);
      });

      it('20 concurrent first reservations of a user share one seeding of the window', async () => {
        const admin = await registerTeam(t);
        const agent = await t
          .http()
          .post('/api/agents')
          .set(admin.bearer)
          .send({ name: 'Seeded', provider: 'mock', model: 'mock-1' })
          .expect(201);
        const chat = await t.http().post('/api/chats').set(admin.bearer).send({ agentId: agent.body.id }).expect(201);
        for (let i = 0; i < 2; i++) {
          await ds.query(
            `INSERT INTO messages (chat_id, team_id, role, content, status) VALUES ($1, $2, 'assistant', 'x', 'complete')`,
            [chat.body.id, admin.teamId],
          );
        }
        const lim = limiter('memory', { maxConcurrentGenerations: 100, messagesPerMinute: 5 });
        const user = { teamId: admin.teamId, userId: admin.userId };
        const results = await Promise.all(Array.from({ length: 20 }, () => lim.reserve(slotOf(user))));
        expect(results.filter((r) => r.ok)).toHaveLength(3);
        expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'rate')).toBe(true);
      });
    }
  });
});

if (!REDIS_URL) {
  describe('GenerationLimiter, redis backend', () => {
    it.skip('needs TEST_REDIS_URL (run against the real Redis)', () => undefined);
  });
}
