import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { BreakerRegistry } from 'src/common/circuit/breaker-registry.service';
import { registerTeam, Session, teamMatrix } from 'test/factories/auth.factory';
import { createTestApp, TestApp } from 'test/utils/test-app';

const NUL = '\u0000';

type Res = { status: number; body: Record<string, any>; headers: Record<string, string> };

/** 400 VALIDATION_FAILED in the contract's body, naming `field` in details.fieldErrors. */
function expectRefused(res: Res, field: string): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'VALIDATION_FAILED' });
  expect(res.body).toEqual(
    expect.objectContaining({
      statusCode: 400,
      message: expect.any(String),
      timestamp: expect.any(String),
      correlationId: expect.any(String),
    }),
  );
  expect(res.body.details.fieldErrors.map((f: { field: string }) => f.field)).toContain(field);
}

/** A JSON body sent verbatim, so that `\ud800` stays an escape the server's JSON parser turns into a lone surrogate. */
const rawJson = (text: string) => ({ 'Content-Type': 'application/json', body: text });

describe('Input hygiene at the edge: NUL and lone surrogates are refused with 400 naming the field', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session;
  let agentId: string;
  let chatId: string;

  beforeAll(async () => {
    // Strict breaker settings: if any refused request counted as a failure, the routes would open.
    t = await createTestApp({ env: { BREAKER_MIN_REQUESTS: '3', BREAKER_WINDOW_MS: '10000' } });
    ({ admin, user } = await teamMatrix(t));
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Hygiene bot', provider: 'mock' })
      .expect(201);
    agentId = agent.body.id;
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId, title: 'ok' }).expect(201);
    chatId = chat.body.id;
  }, 180_000);
  afterAll(() => t?.close());

  describe('defect 2: the email validator and the route breaker', () => {
    it('answers a lone-surrogate email on login with 400, five times, and login stays open to valid users', async () => {
      for (let i = 0; i < 5; i++) {
        const { body, ...h } = rawJson('{"email":"\\ud800","password":"x"}');
        const res = await t.http().post('/api/auth/login').set(h).send(body);
        expectRefused(res, 'email');
      }
      const ok = await t
        .http()
        .post('/api/auth/login')
        .send({ email: admin.email, password: admin.password, team: admin.teamSlug });
      expect(ok.status).toBe(200);
    });

    it('answers a lone-surrogate email on register and on invites with 400', async () => {
      const reg = await t
        .http()
        .post('/api/auth/register')
        .set('Content-Type', 'application/json')
        .send('{"email":"a\\ud800@x.io","password":"Str0ng-Pass-xyz-123","teamName":"T"}');
      expectRefused(reg, 'email');
      const inv = await t
        .http()
        .post('/api/teams/current/invites')
        .set(admin.bearer)
        .set('Content-Type', 'application/json')
        .send('{"email":"\\udc00@x.io","role":"user"}');
      expectRefused(inv, 'email');
    });

    it('five GET /api/chats?q=%00 answer 400 and do not open the route for other users', async () => {
      for (let i = 0; i < 5; i++) expectRefused(await t.http().get('/api/chats?q=%00').set(user.bearer), 'query.q');
      await t.http().get('/api/chats').set(admin.bearer).expect(200);
      await t.http().get('/api/chats?q=ok').set(user.bearer).expect(200);
      const routes = t.app.get(BreakerRegistry).snapshot('route');
      expect(routes.filter((b) => b.state !== 'closed')).toEqual([]);
    });

    it('keeps the health routes outside the route breakers', async () => {
      await t.http().get('/health/ready').expect(200);
      await t.http().get('/health/live').expect(200);
      const names = t.app
        .get(BreakerRegistry)
        .snapshot('route')
        .map((b) => b.name);
      expect(names.filter((n) => n.includes('/health'))).toEqual([]);
    });
  });

  describe('defect 3: every listed surface', () => {
    it('chat title and tags', async () => {
      expectRefused(
        await t
          .http()
          .post('/api/chats')
          .set(user.bearer)
          .send({ agentId, title: `a${NUL}b` }),
        'title',
      );
      const tags = await t
        .http()
        .post('/api/chats')
        .set(user.bearer)
        .send({ agentId, title: 'x', metadata: { tags: ['fine', `x${NUL}`] } });
      expectRefused(tags, 'metadata.tags.1');
      const patch = await t
        .http()
        .patch(`/api/chats/${chatId}`)
        .set(user.bearer)
        .set('Content-Type', 'application/json')
        .send('{"title":"\\udfff"}');
      expectRefused(patch, 'title');
    });

    it('a metadata key holding NUL, and a __proto__ key', async () => {
      const key = await t
        .http()
        .post('/api/chats')
        .set(user.bearer)
        .send({ agentId, metadata: { [`k${NUL}`]: 1 } });
      expect(key.status).toBe(400);
      expect(key.body.error).toBe('VALIDATION_FAILED');
      const proto = await t
        .http()
        .post('/api/chats')
        .set(user.bearer)
        .set('Content-Type', 'application/json')
        .send(`{"agentId":"${agentId}","metadata":{"__proto__":{"isAdmin":true}}}`);
      expectRefused(proto, 'metadata.__proto__');
    });

    it('message content', async () => {
      const res = await t
        .http()
        .post(`/api/chats/${chatId}/messages`)
        .set(user.bearer)
        .set('Accept', 'application/json')
        .send({ content: `hi${NUL}` });
      expectRefused(res, 'content');
    });

    it('agent name and description', async () => {
      expectRefused(await t.http().post('/api/agents').set(admin.bearer).send({ name: NUL, provider: 'mock' }), 'name');
      const d = await t
        .http()
        .patch(`/api/agents/${agentId}`)
        .set(admin.bearer)
        .set('Content-Type', 'application/json')
        .send('{"description":"x\\ud800"}');
      expectRefused(d, 'description');
    });

    it('team name', async () => {
      expectRefused(
        await t
          .http()
          .patch('/api/teams/current')
          .set(admin.bearer)
          .send({ name: `T${NUL}` }),
        'name',
      );
    });

    it('feedback comments', async () => {
      expectRefused(
        await t
          .http()
          .post('/api/research/feedback')
          .set(user.bearer)
          .send({ rating: 1, comment: `c${NUL}` }),
        'comment',
      );
    });

    it('research queries', async () => {
      const res = await t
        .http()
        .post('/api/research/sessions')
        .set(user.bearer)
        .send({ id: randomUUID(), query: `what${NUL}` });
      expectRefused(res, 'query');
    });

    it('?q= of search, and audit filters', async () => {
      expectRefused(await t.http().get('/api/chats/search?q=a%00').set(user.bearer), 'query.q');
      expectRefused(await t.http().get('/api/audit-logs?action=%00').set(admin.bearer), 'query.action');
      expectRefused(await t.http().get('/api/audit-logs?userId=%00&from=x').set(admin.bearer), 'query.userId');
      // A URL cannot carry a lone surrogate (it is decoded as UTF-8; invalid bytes become U+FFFD): plain validation answers.
      const enc = await t.http().get('/api/audit-logs?userId=%ED%A0%80').set(admin.bearer);
      expect({ status: enc.status, error: enc.body.error }).toEqual({ status: 400, error: 'VALIDATION_FAILED' });
    });

    it('path parameters', async () => {
      expectRefused(await t.http().get('/api/chats/%00').set(user.bearer), 'path.id');
      expectRefused(
        await t.http().get(`/api/chats/${chatId}/messages/a%00b/stream`).set(user.bearer),
        'path.messageId',
      );
      expectRefused(await t.http().get('/api/research/sessions/%00').set(user.bearer), 'path.sessionId');
    });

    it('header values', async () => {
      // Clients refuse to send NUL in a header; a raw socket does. Node's parser refuses it: 400 in the contract's body.
      const raw = await new Promise<string>((resolve, reject) => {
        const url = new URL(t.url);
        const sock = connect(Number(url.port), url.hostname, () => {
          sock.write(
            `GET /api/chats HTTP/1.1\r\nHost: x\r\nAuthorization: ${user.bearer.Authorization}\r\nX-Note: a\u0000b\r\nConnection: close\r\n\r\n`,
            'latin1',
          );
        });
        let data = '';
        sock.on('data', (d) => (data += d.toString('latin1')));
        sock.on('end', () => resolve(data));
        sock.on('error', reject);
      });
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
      const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
      expect(body).toEqual(
        expect.objectContaining({ statusCode: 400, error: 'BAD_REQUEST', correlationId: expect.any(String) }),
      );
    });

    it('a URL over the header size limit gets 431 in the contract body, not a bare 431', async () => {
      const res = await fetch(`${t.url}/api/chats?q=${'y'.repeat(20_000)}`, { headers: user.bearer });
      expect(res.status).toBe(431);
      expect(await res.json()).toEqual(
        expect.objectContaining({ statusCode: 431, error: 'HEADERS_TOO_LARGE', correlationId: expect.any(String) }),
      );
    });

    it('still accepts ordinary non-ASCII text, emoji (surrogate pairs) included', async () => {
      const res = await t
        .http()
        .post('/api/chats')
        .set(user.bearer)
        .send({ agentId, title: 'Grüße 👋 日本', metadata: { tags: ['ü', '🎉'] } });
      expect(res.status).toBe(201);
      expect(res.body.title).toBe('Grüße 👋 日本');
    });

    it('a body nested deeper than 32 levels is refused, not a stack overflow', async () => {
      let deep = '1';
      for (let i = 0; i < 5000; i++) deep = `[${deep}]`;
      const res = await t
        .http()
        .post('/api/chats')
        .set(user.bearer)
        .set('Content-Type', 'application/json')
        .send(`{"agentId":"${agentId}","metadata":{"x":${deep}}}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('VALIDATION_FAILED');
    });

    it('another team cannot tell the refusal apart from its own (the guard runs before any lookup)', async () => {
      const other = await registerTeam(t);
      expectRefused(await t.http().get(`/api/chats/${chatId}?x=%00`).set(other.bearer), 'query.x');
      await t.http().get(`/api/chats/${chatId}`).set(other.bearer).expect(404);
    });
  });
});
