import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { createApp } from 'src/app.factory';
import { ApiKeysService } from 'src/api-keys/api-keys.service';
import { loadConfig } from 'src/config/env';
import { registerTeam, Session, teamMatrix } from 'test/factories/auth.factory';
import { TEST_TMP } from 'test/utils/global-setup';
import { baseTestEnv, createTestApp, TestApp } from 'test/utils/test-app';

/**
 * Team API keys (/api/api-keys) and what a key may reach: shown once as cb_live_…, stored as a hash,
 * admin-only management, revocation and expiry effective at once, scopes, per-key rate limit, audit,
 * and never a way into the JWT routes.
 */
describe('team API keys', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session;
  let outsider: Session;

  beforeAll(async () => {
    t = await createTestApp({ env: { API_KEY_RATE_LIMIT: '5', API_KEY_RATE_TTL_MS: '60000' } });
    ({ admin, user, outsider } = await teamMatrix(t));
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200));
    await t?.close();
  });

  const createKey = async (s: Session, body: Record<string, unknown> = {}) =>
    (
      await t
        .http()
        .post('/api/api-keys')
        .set(s.bearer)
        .send({ name: 'svc', scopes: ['chat'], ...body })
        .expect(201)
    ).body;
  const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
  /** Every route an API key may use, with a body where needed. */
  const keyRoutes = (agentId: string) => [
    { method: 'get' as const, path: '/v1/models' },
    { method: 'get' as const, path: `/v1/models/${agentId}` },
    {
      method: 'post' as const,
      path: '/v1/chat/completions',
      body: { model: agentId, messages: [{ role: 'user', content: 'hi' }] },
    },
  ];
  const call = (r: { method: 'get' | 'post'; path: string; body?: object }, headers: Record<string, string>) =>
    r.method === 'get' ? t.http().get(r.path).set(headers) : t.http().post(r.path).set(headers).send(r.body);

  it('shows the key once as cb_live_…, lists it by prefix without the secret, with name, scopes, creator and dates', async () => {
    const created = await createKey(admin, {
      name: 'LibreChat',
      scopes: ['chat', 'research'],
      expiresAt: '2099-01-01T00:00:00Z',
    });
    expect(created.key).toMatch(/^cb_live_[A-Za-z0-9_-]{43}$/);
    expect(created.prefix).toBe(created.key.slice(0, 16));
    expect(created).toEqual(
      expect.objectContaining({
        name: 'LibreChat',
        scopes: ['chat', 'research'],
        createdBy: admin.userId,
        lastUsedAt: null,
        revokedAt: null,
        expiresAt: '2099-01-01T00:00:00.000Z',
      }),
    );
    const list = await t.http().get('/api/api-keys').query({ prefix: created.prefix }).set(admin.bearer).expect(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0].id).toBe(created.id);
    expect(list.body.items[0].key).toBeUndefined();
    expect(JSON.stringify(list.body)).not.toContain(created.key);
    const one = await t.http().get(`/api/api-keys/${created.id}`).set(admin.bearer).expect(200);
    expect(one.body.key).toBeUndefined();
  });

  it('refuses bad bodies with the contract error: unknown scope, expiry in the past', async () => {
    const bad = await t
      .http()
      .post('/api/api-keys')
      .set(admin.bearer)
      .send({ name: 'x', scopes: ['admin'] })
      .expect(400);
    expect(bad.body.error).toBe('VALIDATION_FAILED');
    const past = await t
      .http()
      .post('/api/api-keys')
      .set(admin.bearer)
      .send({ name: 'x', scopes: ['chat'], expiresAt: '2001-01-01T00:00:00Z' })
      .expect(400);
    expect(past.body.details.fieldErrors[0].field).toBe('expiresAt');
  });

  it("lets only admins manage keys (a member gets 403) and hides another team's key (404)", async () => {
    const created = await createKey(admin);
    await t.http().get('/api/api-keys').set(user.bearer).expect(403);
    await t
      .http()
      .post('/api/api-keys')
      .set(user.bearer)
      .send({ name: 'x', scopes: ['chat'] })
      .expect(403);
    await t.http().delete(`/api/api-keys/${created.id}`).set(user.bearer).expect(403);
    await t.http().get(`/api/api-keys/${created.id}`).set(outsider.bearer).expect(404);
    await t.http().delete(`/api/api-keys/${created.id}`).set(outsider.bearer).expect(404);
    const theirs = await t.http().get('/api/api-keys').set(outsider.bearer).expect(200);
    expect(theirs.body.items.map((k: { id: string }) => k.id)).not.toContain(created.id);
    await t.http().get(`/api/api-keys/${created.id}`).set(admin.bearer).expect(200);
  });

  it('never reaches the JWT routes: an API key is 401 on admin and member routes', async () => {
    const { key } = await createKey(admin, { scopes: ['chat', 'research'] });
    for (const path of ['/api/api-keys', '/api/agents', '/api/chats', '/api/audit-logs', '/api/teams/current']) {
      const res = await t.http().get(path).set(bearer(key));
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
    }
    await t
      .http()
      .post('/api/api-keys')
      .set(bearer(key))
      .send({ name: 'escalate', scopes: ['chat'] })
      .expect(401);
  });

  it('answers 401 on every key route for a revoked, an expired, a malformed or a missing key; revocation is immediate', async () => {
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Mock', provider: 'mock' })
      .expect(201);
    const live = await createKey(admin);
    await t.http().get('/v1/models').set(bearer(live.key)).expect(200); // cached now
    await t.http().delete(`/api/api-keys/${live.id}`).set(admin.bearer).expect(204);
    await t.http().delete(`/api/api-keys/${live.id}`).set(admin.bearer).expect(204); // twice: a no-op
    const listed = await t.http().get(`/api/api-keys/${live.id}`).set(admin.bearer).expect(200);
    expect(listed.body.revokedAt).toEqual(expect.any(String));

    const soon = await createKey(admin, { expiresAt: new Date(Date.now() + 1500).toISOString() });
    await t.http().get('/v1/models').set(bearer(soon.key)).expect(200);
    await new Promise((r) => setTimeout(r, 1600));

    const cases: Record<string, Record<string, string>> = {
      revoked: bearer(live.key),
      expired: bearer(soon.key),
      unknown: bearer(`cb_live_${'A'.repeat(43)}`),
      malformed: bearer('cb_live_short'),
      jwt: admin.bearer,
      missing: {},
    };
    for (const [what, headers] of Object.entries(cases)) {
      for (const r of keyRoutes(agent.body.id)) {
        const res = await call(r, headers);
        expect({ what, path: r.path, status: res.status }).toEqual({ what, path: r.path, status: 401 });
        expect(res.body.error).toEqual(
          expect.objectContaining({ type: 'invalid_request_error', code: 'invalid_api_key' }),
        );
      }
    }
  });

  it('answers 403 to a key without the chat scope', async () => {
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Mock2', provider: 'mock' })
      .expect(201);
    const { key } = await createKey(admin, { scopes: ['research'] });
    for (const r of keyRoutes(agent.body.id)) {
      const res = await call(r, bearer(key));
      expect({ path: r.path, status: res.status }).toEqual({ path: r.path, status: 403 });
      expect(res.body.error.code).toBe('insufficient_permissions');
    }
  });

  it('rate-limits per key (429 with Retry-After) without touching another key', async () => {
    const a = await createKey(admin);
    const b = await createKey(admin);
    for (let i = 0; i < 5; i++) await t.http().get('/v1/models').set(bearer(a.key)).expect(200);
    const limited = await t.http().get('/v1/models').set(bearer(a.key)).expect(429);
    expect(limited.headers['retry-after']).toEqual(expect.any(String));
    expect(limited.body.error).toEqual(expect.objectContaining({ type: 'requests', code: 'rate_limit_exceeded' }));
    await t.http().get('/v1/models').set(bearer(b.key)).expect(200);
  });

  it('audits key creation, revocation and the requests made with a key; records last use', async () => {
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Mock3', provider: 'mock' })
      .expect(201);
    const k = await createKey(admin, { name: 'audited' });
    await t
      .http()
      .post('/v1/chat/completions')
      .set(bearer(k.key))
      .send({ model: agent.body.id, messages: [{ role: 'user', content: 'hi' }] })
      .expect(200);
    await t.http().delete(`/api/api-keys/${k.id}`).set(admin.bearer).expect(204);
    await new Promise((r) => setTimeout(r, 300));
    const logs = await t.http().get('/api/audit-logs').query({ limit: 100 }).set(admin.bearer).expect(200);
    const items = logs.body.items as Array<{ action: string; route: string | null; metadata: Record<string, unknown> }>;
    expect(items.some((l) => l.action === 'api_key.create' && l.metadata.apiKeyId === k.id)).toBe(true);
    expect(items.some((l) => l.action === 'api_key.revoke' && l.metadata.apiKeyId === k.id)).toBe(true);
    expect(
      items.some(
        (l) => l.action === 'http.request' && l.route === '/v1/chat/completions' && l.metadata.apiKeyId === k.id,
      ),
    ).toBe(true);
    // Last use is written in batches, not on the request path: flush the batch as shutdown would.
    await t.app.get(ApiKeysService).flushLastUsed();
    const after = await t.http().get(`/api/api-keys/${k.id}`).set(admin.bearer).expect(200);
    expect(after.body.lastUsedAt).toEqual(expect.any(String));
  });
});

const shared = Boolean(process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL);
const describeShared = shared ? describe : describe.skip;

/** Revocation holds at once on another instance that has the key cached (needs shared PostgreSQL and Redis). */
describeShared('team API keys on two instances sharing PostgreSQL and Redis', () => {
  let a: TestApp;
  let b: NestExpressApplication;
  let bUrl: string;
  let dir: string;

  beforeAll(async () => {
    a = await createTestApp();
    dir = mkdtempSync(join(TEST_TMP, 'app-b-'));
    const env = {
      ...baseTestEnv(dir),
      DATABASE_URL: a.config.db.url!,
      REDIS_KEY_PREFIX: a.config.redisKeyPrefix,
      DB_MIGRATIONS_RUN: 'false',
    };
    b = await createApp(loadConfig(env));
    await b.listen(0, '127.0.0.1');
    bUrl = (await b.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
    await a?.close();
  });

  it('refuses a key on instance B on the very next request after it was revoked on instance A', async () => {
    const admin = await registerTeam(a);
    const created = (
      await a
        .http()
        .post('/api/api-keys')
        .set(admin.bearer)
        .send({ name: 'x', scopes: ['chat'] })
        .expect(201)
    ).body;
    const onB = () =>
      request(bUrl)
        .get('/v1/models')
        .set({ Authorization: `Bearer ${created.key}` });
    await onB().expect(200);
    await onB().expect(200); // now cached on B under the team's stamp
    await a.http().delete(`/api/api-keys/${created.id}`).set(admin.bearer).expect(204);
    await onB().expect(401);
  });
});
