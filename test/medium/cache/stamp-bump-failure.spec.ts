import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type Redis from 'ioredis';
import { AgentRepository } from 'src/agents/agent.repository';
import { AgentsService } from 'src/agents/agents.service';
import { AuditService } from 'src/common/audit/audit.service';
import type { AuthUser } from 'src/common/auth-user';
import { VersionStamps } from 'src/common/cache/version-stamps';
import { SecretBox } from 'src/common/crypto/secret-box.service';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { createRedis } from 'src/common/redis/redis.module';
import { TeamRepository } from 'src/teams/team.repository';
import { UserRepository } from 'src/teams/user.repository';
import { UsersService } from 'src/teams/users.service';
import { addMember, registerTeam } from 'test/factories/auth.factory';
import { createTestApp, TestApp } from 'test/utils/test-app';

/**
 * A version-stamp bump that fails after the write committed (Redis down at that moment) must not fail the
 * write, and the caches must heal by their TTL (CACHE_TTL_MS). AgentsService and UsersService are built
 * as the app builds them (real repositories, real database) but over a VersionStamps of the test's own:
 * - always: a Redis where nothing listens (every bump fails, with the app's client settings);
 * - with TEST_REDIS_URL: a real Redis whose connection the test closes for the write only, so the cache
 *   was warmed under a stamp that the lost bump leaves unchanged.
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? '';
if (!REDIS_URL) process.stderr.write('[stamp-bump-failure] closed-connection part SKIPPED: needs TEST_REDIS_URL\n');

const CACHE_TTL_MS = 1500;

const adminOf = (teamId: string = randomUUID(), id: string = randomUUID()): AuthUser => ({
  id,
  teamId,
  role: 'admin',
  email: 'a@x.io',
  jti: 'j',
  exp: 0,
});

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A loopback port where nothing listens (bound, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Version stamp bump failing after commit (medium: real database)', () => {
  let t: TestApp;
  let metrics: MetricsService;
  const clients: Redis[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { CACHE_TTL_MS: String(CACHE_TTL_MS) } });
    metrics = t.app.get(MetricsService);
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await t?.close();
  });

  const agentsOver = (stamps: VersionStamps) =>
    new AgentsService(t.app.get(AgentRepository), t.app.get(SecretBox), t.app.get(AuditService), t.config, stamps);
  const usersOver = (stamps: VersionStamps) =>
    new UsersService(t.app.get(UserRepository), t.app.get(TeamRepository), t.app.get(AuditService), stamps, t.config);

  async function stampReadFailures(scope: string): Promise<number> {
    const m = (await metrics.render()).match(
      new RegExp(`^chat_backend_cache_stamp_read_failures_total\\{scope="${scope}"\\} (\\d+)$`, 'm'),
    );
    return m ? Number(m[1]) : 0;
  }

  async function bumpFailures(scope: string): Promise<number> {
    const m = (await metrics.render()).match(
      new RegExp(`^chat_backend_cache_stamp_bump_failures_total\\{scope="${scope}"\\} (\\d+)$`, 'm'),
    );
    return m ? Number(m[1]) : 0;
  }

  it('Redis unreachable: agent create/update/delete and a member update still succeed, stamped reads fall back to the database; the failures are counted', async () => {
    const dead = createRedis(`redis://127.0.0.1:${await deadPort()}`, 'stamps-dead');
    clients.push(dead);
    const stamps = new VersionStamps(dead, t.config, metrics);
    expect(stamps.mode).toBe('redis');
    const agents = agentsOver(stamps);
    const users = usersOver(stamps);
    const [agentFailures, memberFailures] = [await bumpFailures('agents'), await bumpFailures('member')];

    const u = adminOf();
    const created = await agents.create(u, { name: 'Committed', provider: 'mock', model: 'mock-1' });
    expect((await agents.get(u.teamId, created.id)).name).toBe('Committed');
    // Reads that check a stamp load from the database instead of failing, and are counted.
    const readFailures = await stampReadFailures('agents');
    expect((await agents.resolveChain(u.teamId, created.id))[0].id).toBe(created.id);
    expect(await stampReadFailures('agents')).toBe(readFailures + 1);
    const updated = await agents.update(u, created.id, { name: 'Renamed' });
    expect(updated.name).toBe('Renamed');
    expect((await agents.get(u.teamId, created.id)).name).toBe('Renamed');
    await agents.delete(u, created.id);
    await expect(agents.get(u.teamId, created.id)).rejects.toMatchObject({ status: 404 });

    const team = await registerTeam(t);
    const member = await addMember(t, team, 'user');
    const res = await users.updateMember(adminOf(team.teamId, team.userId), member.userId, { role: 'admin' });
    expect(res.role).toBe('admin');
    expect((await users.getUser(team.teamId, member.userId)).role).toBe('admin');
    expect((await users.findActiveMember(team.teamId, member.userId))?.role).toBe('admin');

    expect(await bumpFailures('agents')).toBe(agentFailures + 3);
    expect(await bumpFailures('member')).toBe(memberFailures + 1);
  });

  (REDIS_URL ? describe : describe.skip)('a Redis connection closed during the write (lost bump), then back', () => {
    let client: Redis;
    let stamps: VersionStamps;

    beforeAll(async () => {
      client = createRedis(REDIS_URL, 'stamps-closable');
      clients.push(client);
      await client.ping();
      // The app's key prefix: a fresh one per test app, so nobody else's stamps are touched.
      stamps = new VersionStamps(client, t.config, metrics);
    });

    /** Closes the connection around `write` (commands fail at once with "Connection is closed"), then reopens it. */
    async function withConnectionClosed<T>(write: () => Promise<T>): Promise<T> {
      client.disconnect();
      try {
        return await write();
      } finally {
        await client.connect();
      }
    }

    it('agent chain: the update succeeds, and the cache serves the new configuration once the TTL ran out', async () => {
      const agents = agentsOver(stamps);
      const u = adminOf();
      const created = await agents.create(u, {
        name: 'Cached',
        provider: 'mock',
        model: 'mock-1',
        config: { mockContent: 'old' },
      });
      const contentOf = async () => (await agents.resolveChain(u.teamId, created.id))[0].config.mockContent;
      const failures = await bumpFailures('agents');

      const warmedAt = Date.now(); // the cached chain's load starts after this
      expect(await contentOf()).toBe('old');
      expect(await contentOf()).toBe('old');
      const updated = await withConnectionClosed(() =>
        agents.update(u, created.id, { config: { mockContent: 'new' } }),
      );
      expect(updated.config).toEqual(expect.objectContaining({ mockContent: 'new' }));
      expect(await bumpFailures('agents')).toBe(failures + 1);

      // The bump was lost: within the TTL the old chain may still be served (judged only when certainly within it).
      const early = await contentOf();
      if (Date.now() < warmedAt + CACHE_TTL_MS) expect(early).toBe('old');
      await eventually(async () => (await contentOf()) === 'new', 'the cached chain to expire', CACHE_TTL_MS + 15_000);
    });

    it('active member: the role change succeeds, and authentication reads the new role once the TTL ran out', async () => {
      const users = usersOver(stamps);
      const team = await registerTeam(t);
      const member = await addMember(t, team, 'user');
      const roleOf = async () => (await users.findActiveMember(team.teamId, member.userId))?.role;
      const failures = await bumpFailures('member');

      const warmedAt = Date.now();
      expect(await roleOf()).toBe('user');
      expect(await roleOf()).toBe('user');
      const res = await withConnectionClosed(() =>
        users.updateMember(adminOf(team.teamId, team.userId), member.userId, { role: 'admin' }),
      );
      expect(res.role).toBe('admin');
      expect(await bumpFailures('member')).toBe(failures + 1);

      const early = await roleOf();
      if (Date.now() < warmedAt + CACHE_TTL_MS) expect(early).toBe('user');
      await eventually(async () => (await roleOf()) === 'admin', 'the cached member to expire', CACHE_TTL_MS + 15_000);
    });
  });
});

if (!REDIS_URL) {
  describe('Version stamp bump failing after commit, closed Redis connection', () => {
    it.skip('needs TEST_REDIS_URL (run against the real Redis)', () => undefined);
  });
}
