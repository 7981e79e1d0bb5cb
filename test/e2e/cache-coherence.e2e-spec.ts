import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { createApp } from 'src/app.factory';
import { loadConfig } from 'src/config/env';
import { addMember, login, Session, teamMatrix } from 'test/factories/auth.factory';
import { TEST_TMP } from 'test/utils/global-setup';
import { authenticateWith } from 'test/utils/passport-instances';
import { baseTestEnv, createTestApp, TestApp } from 'test/utils/test-app';

/**
 * The in-process caches behind every request (the agent chain resolved by each send, the active member
 * read by authentication, the access-token denylist) must never serve a value older than a committed
 * change: a change holds from the very next request, on the instance that made it and on every other.
 *
 * Each scenario warms the reader's caches first (same token, same agent, on the reader), then changes
 * something through the writer, then checks the reader's very next request.
 */
const LIMITS = { CHAT_MESSAGES_PER_MINUTE: '1000', CHAT_MAX_CONCURRENT_GENERATIONS: '50' };

interface Instances {
  /** Where the admin makes changes. */
  write: () => TestAgent;
  /** Where the affected user's next request goes (warmed first). */
  read: () => TestAgent;
}

type Msg = { id: string; role: string; status: string; content: string };

function coherenceScenarios(ctx: () => Instances): void {
  const w = () => ctx().write();
  const r = () => ctx().read();
  /** The factories only use `http`: the writer instance, seen as a TestApp. */
  const writer = () => ({ http: ctx().write }) as unknown as TestApp;

  const send = (s: Session, chatId: string, content: string) =>
    r().post(`/api/chats/${chatId}/messages`).set(s.bearer).set('Accept', 'application/json').send({ content });

  async function tree(s: Session, chatId: string): Promise<Msg[]> {
    return (await r().get(`/api/chats/${chatId}/tree`).set(s.bearer).expect(200)).body.items as Msg[];
  }

  /** The reply once it finished (polled: no timing assumption). */
  async function reply(s: Session, chatId: string, messageId: string): Promise<Msg> {
    for (let i = 0; i < 500; i++) {
      const m = (await tree(s, chatId)).find((x) => x.id === messageId);
      if (m && m.status !== 'streaming') return m;
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error(`reply ${messageId} did not finish`);
  }

  /** Sends and waits for the reply: its content tells which agent answered. */
  async function converse(s: Session, chatId: string, content: string): Promise<Msg> {
    const res = await send(s, chatId, content);
    if (res.status !== 202) throw new Error(`send: expected 202, got ${res.status} ${JSON.stringify(res.body)}`);
    return reply(s, chatId, res.body.assistantMessage.id);
  }

  async function agent(
    admin: Session,
    name: string,
    mockContent: string,
    extra: Record<string, unknown> = {},
  ): Promise<string> {
    const res = await w()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name, provider: 'mock', model: 'mock-1', config: { mockContent, mockDelayMs: 0 }, ...extra })
      .expect(201);
    return res.body.id as string;
  }

  const patchAgent = (admin: Session, id: string, body: Record<string, unknown>) =>
    w().patch(`/api/agents/${id}`).set(admin.bearer).send(body).expect(200);
  const patchMember = (admin: Session, userId: string, body: Record<string, unknown>) =>
    w().patch(`/api/teams/current/members/${userId}`).set(admin.bearer).send(body).expect(200);

  describe('agent chain (AgentsService.resolveChain)', () => {
    it('refuses a send at once after the agent is deactivated (409 CONFLICT, as before caching), and accepts it again once re-activated', async () => {
      const { admin, user } = await teamMatrix(writer());
      const name = `Toggled ${Date.now()}`;
      const agentId = await agent(admin, name, 'hello');
      const chatId = (await w().post('/api/chats').set(user.bearer).send({ agentId }).expect(201)).body.id as string;
      // Warm the chain on the reader (twice: the second send is answered from the cache).
      expect((await converse(user, chatId, 'one')).content).toBe('hello');
      expect((await converse(user, chatId, 'two')).content).toBe('hello');
      const before = (await tree(user, chatId)).length;

      expect((await patchAgent(admin, agentId, { isActive: false })).body.isActive).toBe(false);
      const refused = await send(user, chatId, 'three').expect(409);
      expect(refused.body).toEqual(
        expect.objectContaining({
          statusCode: 409,
          error: 'CONFLICT',
          message: `Agent "${name}" is inactive and has no active fallback`,
          details: expect.objectContaining({ suggestion: 'Activate the agent or give it an active fallback agent.' }),
        }),
      );
      expect(await tree(user, chatId)).toHaveLength(before); // nothing stored for the refused send

      await patchAgent(admin, agentId, { isActive: true });
      expect((await converse(user, chatId, 'four')).content).toBe('hello');
    });

    it('uses a changed agent configuration for the very next reply', async () => {
      const { admin, user } = await teamMatrix(writer());
      const agentId = await agent(admin, 'Edited', 'old answer');
      const chatId = (await w().post('/api/chats').set(user.bearer).send({ agentId }).expect(201)).body.id as string;
      expect((await converse(user, chatId, 'one')).content).toBe('old answer');
      expect((await converse(user, chatId, 'two')).content).toBe('old answer');
      await patchAgent(admin, agentId, { config: { mockContent: 'new answer' } });
      expect((await converse(user, chatId, 'three')).content).toBe('new answer');
    });

    it('follows fallback changes at once: primary deactivated → fallback answers; fallback deactivated too → 409; primary back → primary answers', async () => {
      const { admin, user } = await teamMatrix(writer());
      const fallbackId = await agent(admin, 'Fallback', 'from fallback');
      const primaryName = `Primary ${Date.now()}`;
      const primaryId = await agent(admin, primaryName, 'from primary', { fallbackAgentId: fallbackId });
      const chatId = (await w().post('/api/chats').set(user.bearer).send({ agentId: primaryId }).expect(201)).body
        .id as string;
      expect((await converse(user, chatId, 'one')).content).toBe('from primary');
      expect((await converse(user, chatId, 'two')).content).toBe('from primary');

      await patchAgent(admin, primaryId, { isActive: false });
      expect((await converse(user, chatId, 'three')).content).toBe('from fallback');

      await patchAgent(admin, fallbackId, { isActive: false });
      const refused = await send(user, chatId, 'four').expect(409);
      expect(refused.body).toEqual(
        expect.objectContaining({
          error: 'CONFLICT',
          message: `Agent "${primaryName}" is inactive and has no active fallback`,
        }),
      );

      await patchAgent(admin, primaryId, { isActive: true });
      expect((await converse(user, chatId, 'five')).content).toBe('from primary');
    });

    it('refuses a send at once after the agent is deleted (404 NOT_FOUND)', async () => {
      const { admin, user } = await teamMatrix(writer());
      const agentId = await agent(admin, 'Doomed', 'still here');
      const chatId = (await w().post('/api/chats').set(user.bearer).send({ agentId }).expect(201)).body.id as string;
      expect((await converse(user, chatId, 'one')).content).toBe('still here');
      expect((await converse(user, chatId, 'two')).content).toBe('still here');
      await w().delete(`/api/agents/${agentId}`).set(admin.bearer).expect(204);
      const refused = await send(user, chatId, 'three').expect(404);
      expect(refused.body.error).toBe('NOT_FOUND');
    });
  });

  describe('authentication (UsersService.findActiveMember, access-token denylist)', () => {
    it('answers 403 on an admin-only route on the very next request after a demotion, and 201 again after re-promotion', async () => {
      const { admin } = await teamMatrix(writer());
      const second = await addMember(writer(), admin, 'admin');
      const create = (n: number) =>
        r()
          .post('/api/agents')
          .set(second.bearer)
          .send({ name: `By second ${n}`, provider: 'mock', model: 'mock-1' });
      await create(1).expect(201); // warm: the reader has this member cached as admin
      await create(2).expect(201);

      await patchMember(admin, second.userId, { role: 'user' });
      const refused = await create(3).expect(403);
      expect(refused.body).toEqual(expect.objectContaining({ statusCode: 403, error: 'FORBIDDEN' }));
      // Non-admin routes still work with the same token.
      await r().get('/api/agents').set(second.bearer).expect(200);

      await patchMember(admin, second.userId, { role: 'admin' });
      await create(4).expect(201);
    });

    it('answers 401 at once after a member is deactivated, and accepts the token again once re-activated', async () => {
      const { admin, user } = await teamMatrix(writer());
      await r().get('/api/auth/me').set(user.bearer).expect(200);
      await r().get('/api/agents').set(user.bearer).expect(200);

      await patchMember(admin, user.userId, { isActive: false });
      const refused = await r().get('/api/agents').set(user.bearer).expect(401);
      expect(refused.body).toEqual(
        expect.objectContaining({ statusCode: 401, error: 'UNAUTHORIZED', message: 'Account is not active' }),
      );
      await r().get('/api/auth/me').set(user.bearer).expect(401);

      // Deactivation does not revoke the token (by design): a refusal is not cached either.
      await patchMember(admin, user.userId, { isActive: true });
      await r().get('/api/agents').set(user.bearer).expect(200);
    });

    it('refuses the access token at once after logout; another session of the same user is unaffected', async () => {
      const { user } = await teamMatrix(writer());
      const other = await login(writer(), user.email, user.password, user.teamSlug);
      await r().get('/api/auth/me').set(user.bearer).expect(200);
      await r().get('/api/auth/me').set(other.bearer).expect(200);

      await w().post('/api/auth/logout').set(user.bearer).send({ refreshToken: user.refreshToken }).expect(204);
      const refused = await r().get('/api/auth/me').set(user.bearer).expect(401);
      expect(refused.body).toEqual(
        expect.objectContaining({ error: 'UNAUTHORIZED', message: 'Access token has been revoked' }),
      );
      await w().get('/api/auth/me').set(user.bearer).expect(401);
      await r().get('/api/auth/me').set(other.bearer).expect(200);
    });
  });
}

describe('Cache coherence, one instance (changes hold from the very next request)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: LIMITS });
  });
  afterAll(() => t?.close());

  coherenceScenarios(() => ({ write: t.http, read: t.http }));
});

const shared = Boolean(process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL);
const SKIP_REASON =
  'needs TEST_DATABASE_URL and TEST_REDIS_URL: two instances can only share PostgreSQL and Redis, not one embedded database';
if (!shared) process.stderr.write(`[cache-coherence] two-instance part SKIPPED: ${SKIP_REASON}\n`);
const describeShared = shared ? describe : describe.skip;

describeShared(
  `Cache coherence, two instances sharing PostgreSQL and Redis${shared ? '' : ` (skipped: ${SKIP_REASON})`}`,
  () => {
    let a: TestApp;
    let b: { app: NestExpressApplication; http: () => TestAgent; close(): Promise<void> };

    beforeAll(async () => {
      a = await createTestApp({ env: LIMITS });
      // Instance B: same database, same Redis and key prefix, its own process state (caches).
      const dir = mkdtempSync(join(TEST_TMP, 'app-b-'));
      const env = {
        ...baseTestEnv(dir),
        ...LIMITS,
        DATABASE_URL: a.config.db.url!,
        REDIS_KEY_PREFIX: a.config.redisKeyPrefix,
        DB_MIGRATIONS_RUN: 'false',
      };
      const appB = await createApp(loadConfig(env));
      await appB.listen(0, '127.0.0.1');
      const url = (await appB.getUrl()).replace('[::1]', '127.0.0.1');
      b = {
        app: appB,
        http: () => request(url),
        close: async () => {
          await appB.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
    });

    // Both instances share passport's global 'jwt' strategy in this process: the reader's own is put back
    // before each direction (test/utils/passport-instances.ts), or the reader would authenticate with the
    // writer's caches and the authentication scenarios would prove nothing.
    describe('changes on A, next request on B', () => {
      beforeAll(() => authenticateWith(b.app));
      coherenceScenarios(() => ({ write: a.http, read: b.http }));
    });
    describe('changes on B, next request on A', () => {
      beforeAll(() => authenticateWith(a.app));
      coherenceScenarios(() => ({ write: b.http, read: a.http }));
    });
  },
);
