import { createHmac } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from 'src/common/audit/audit.service';
import { addMember, login, registerTeam, strongPassword, uniqueEmail } from 'test/factories/auth.factory';
import { createTestApp, TestApp } from 'test/utils/test-app';

const ORIGIN = 'https://app.example.com';
const SECRET = 'test-secret-test-secret-test-secret-0123456789';

const b64 = (v: object | string) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function forge(header: object, payload: object, key = SECRET): string {
  const body = `${b64(header)}.${b64(payload)}`;
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}
const decode = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

/** `name=value` of a Set-Cookie list, plus its attributes. */
function cookie(res: { headers: Record<string, unknown> }, name: string): { value: string; attrs: string } | undefined {
  const list = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  const line = list.find((c) => c.startsWith(`${name}=`));
  if (!line) return undefined;
  return { value: line.split(';')[0].slice(name.length + 1), attrs: line };
}

const expectError = (body: Record<string, unknown>, status: number, code: string) =>
  expect(body).toEqual(
    expect.objectContaining({
      statusCode: status,
      error: code,
      message: expect.any(String),
      correlationId: expect.any(String),
    }),
  );

describe('Auth: register, login, refresh, logout, me', () => {
  let t: TestApp;
  let ds: DataSource;
  const auditRows = async (action: string, userId?: string) => {
    await t.app.get(AuditService).flush();
    return ds.query(
      `SELECT * FROM audit_logs WHERE action = $1 ${userId ? 'AND user_id = $2' : ''}`,
      userId ? [action, userId] : [action],
    );
  };

  beforeAll(async () => {
    t = await createTestApp({ env: { CORS_ORIGINS: ORIGIN } });
    ds = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t?.app.get(AuditService).flush();
    await t?.close();
  });

  it('registers a new team whose caller is admin, and never returns a hash', async () => {
    const email = uniqueEmail('Founder').replace('founder', 'FoUnDeR');
    const res = await t
      .http()
      .post('/api/auth/register')
      .send({ email, password: strongPassword(), teamName: 'Acme Rockets!' })
      .expect(201);
    expect(res.body.user).toEqual({
      id: expect.any(String),
      email: email.toLowerCase(),
      displayName: expect.any(String),
      role: 'admin',
      teamId: expect.any(String),
      createdAt: expect.stringMatching(/Z$/),
      lastLoginAt: null,
    });
    expect(res.body.team.slug).toMatch(/^acme-rockets/);
    expect(JSON.stringify(res.body)).not.toMatch(/scrypt|hash/i);
  });

  it('gives each new team a unique slug even for the same name', async () => {
    const a = await t
      .http()
      .post('/api/auth/register')
      .send({ email: uniqueEmail(), password: strongPassword(), teamName: 'Same Name' })
      .expect(201);
    const b = await t
      .http()
      .post('/api/auth/register')
      .send({ email: uniqueEmail(), password: strongPassword(), teamName: 'Same Name' })
      .expect(201);
    expect(a.body.team.slug).not.toBe(b.body.team.slug);
  });

  it('logs in with tokens in the body and httpOnly SameSite=Strict cookies (refresh cookie scoped to /api/auth)', async () => {
    const s = await registerTeam(t);
    const res = await t.http().post('/api/auth/login').send({ email: s.email, password: s.password }).expect(200);
    expect(res.body).toEqual(
      expect.objectContaining({
        accessToken: expect.any(String),
        expiresIn: 900,
        user: expect.objectContaining({ id: s.userId, lastLoginAt: expect.any(String) }),
      }),
    );
    const access = cookie(res, 'access_token');
    const refresh = cookie(res, 'refresh_token');
    expect(access?.attrs).toMatch(/HttpOnly/);
    expect(access?.attrs).toMatch(/SameSite=Strict/);
    expect(refresh?.attrs).toMatch(/Path=\/api\/auth/);
    expect(refresh?.attrs).toMatch(/HttpOnly/);
    const claims = decode(res.body.accessToken);
    expect(claims).toEqual(
      expect.objectContaining({
        sub: s.userId,
        teamId: s.teamId,
        role: 'admin',
        typ: 'access',
        iss: 'chat-backend',
        aud: 'chat-backend-api',
        jti: expect.any(String),
      }),
    );
    expect(claims.exp - claims.iat).toBe(900);
    expect(JSON.parse(Buffer.from(res.body.accessToken.split('.')[0], 'base64url').toString()).alg).toBe('HS256');
  });

  it('authenticates with Bearer and with the access cookie; GET /me returns the caller and team', async () => {
    const s = await registerTeam(t, { displayName: 'Grace' });
    const byBearer = await t.http().get('/api/auth/me').set(s.bearer).expect(200);
    expect(byBearer.body).toEqual({
      id: s.userId,
      email: s.email,
      displayName: 'Grace',
      role: 'admin',
      team: { id: s.teamId, name: expect.any(String), slug: s.teamSlug },
    });
    const byCookie = await t.http().get('/api/auth/me').set('Cookie', `access_token=${s.accessToken}`).expect(200);
    expect(byCookie.body.id).toBe(s.userId);
  });

  it('answers 401 UNAUTHORIZED without credentials', async () => {
    const res = await t.http().get('/api/auth/me').expect(401);
    expectError(res.body, 401, 'UNAUTHORIZED');
    await t.http().get('/api/teams/current').expect(401);
  });

  it('writes auth.login and auth.login_failed audit rows', async () => {
    const s = await registerTeam(t);
    await t.http().post('/api/auth/login').send({ email: s.email, password: 'Wrong-password-123' }).expect(401);
    expect(await auditRows('auth.login', s.userId)).not.toHaveLength(0);
    const failed = await auditRows('auth.login_failed', s.userId);
    expect(failed).toHaveLength(1);
    expect(JSON.stringify(failed[0])).not.toContain('Wrong-password-123');
  });

  it('answers the same 401 for an unknown email and a wrong password', async () => {
    const s = await registerTeam(t);
    const unknown = await t
      .http()
      .post('/api/auth/login')
      .send({ email: uniqueEmail('ghost'), password: 'Wrong-password-123' })
      .expect(401);
    const wrong = await t
      .http()
      .post('/api/auth/login')
      .send({ email: s.email, password: 'Wrong-password-123' })
      .expect(401);
    expect(unknown.body.message).toBe(wrong.body.message);
  });

  describe('refresh', () => {
    it('rotates the refresh token from the cookie (allowed Origin) and from the body', async () => {
      const s = await registerTeam(t);
      const byCookie = await t
        .http()
        .post('/api/auth/refresh')
        .set('Origin', ORIGIN)
        .set('Cookie', `refresh_token=${s.refreshToken}`)
        .expect(200);
      expect(byCookie.body.refreshToken).not.toBe(s.refreshToken);
      expect(cookie(byCookie, 'refresh_token')?.value).toBe(byCookie.body.refreshToken);
      await t.http().get('/api/auth/me').set('Authorization', `Bearer ${byCookie.body.accessToken}`).expect(200);
      const byBody = await t
        .http()
        .post('/api/auth/refresh')
        .send({ refreshToken: byCookie.body.refreshToken })
        .expect(200);
      expect(byBody.body.user.id).toBe(s.userId);
    });

    it('refuses a cookie refresh without an allowed Origin (403)', async () => {
      const s = await registerTeam(t);
      await t.http().post('/api/auth/refresh').set('Cookie', `refresh_token=${s.refreshToken}`).expect(403);
      await t
        .http()
        .post('/api/auth/refresh')
        .set('Origin', 'https://evil.example')
        .set('Cookie', `refresh_token=${s.refreshToken}`)
        .expect(403);
    });

    it('revokes the whole family when a rotated refresh token is presented again, and audits it', async () => {
      const s = await registerTeam(t);
      const next = await t.http().post('/api/auth/refresh').send({ refreshToken: s.refreshToken }).expect(200);
      const reuse = await t.http().post('/api/auth/refresh').send({ refreshToken: s.refreshToken }).expect(401);
      expectError(reuse.body, 401, 'UNAUTHORIZED');
      // The legitimate successor is dead too: the family is revoked.
      await t.http().post('/api/auth/refresh').send({ refreshToken: next.body.refreshToken }).expect(401);
      const rows = await auditRows('auth.refresh_reuse', s.userId);
      expect(rows).toHaveLength(1);
      expect(rows[0].team_id).toBe(s.teamId);
    });

    it('refuses an unknown refresh token', async () => {
      await t
        .http()
        .post('/api/auth/refresh')
        .send({ refreshToken: 'x'.repeat(43) })
        .expect(401);
      await t.http().post('/api/auth/refresh').send({}).expect(401);
    });
  });

  describe('logout', () => {
    it('kills the access token (denylisted) and the refresh family, and clears cookies', async () => {
      const s = await registerTeam(t);
      await t.http().get('/api/auth/me').set(s.bearer).expect(200);
      const res = await t.http().post('/api/auth/logout').set(s.bearer).expect(204);
      expect(cookie(res, 'access_token')?.attrs).toMatch(/Expires=Thu, 01 Jan 1970/);
      await t.http().get('/api/auth/me').set(s.bearer).expect(401);
      await t.http().post('/api/auth/refresh').send({ refreshToken: s.refreshToken }).expect(401);
    });

    it('logs out a cookie session from an allowed Origin, and refuses one from elsewhere', async () => {
      const s = await registerTeam(t);
      const cookies = `access_token=${s.accessToken}; refresh_token=${s.refreshToken}`;
      await t.http().post('/api/auth/logout').set('Cookie', cookies).set('Origin', 'https://evil.example').expect(403);
      await t.http().get('/api/auth/me').set(s.bearer).expect(200);
      await t.http().post('/api/auth/logout').set('Cookie', cookies).set('Origin', ORIGIN).expect(204);
      await t.http().get('/api/auth/me').set(s.bearer).expect(401);
    });

    it('is idempotent without credentials (204)', async () => {
      await t.http().post('/api/auth/logout').expect(204);
    });
  });

  describe('forged and invalid access tokens', () => {
    let s: Awaited<ReturnType<typeof registerTeam>>;
    let claims: Record<string, unknown>;
    beforeAll(async () => {
      s = await registerTeam(t);
      claims = decode(s.accessToken);
    });
    const call = (token: string) => t.http().get('/api/auth/me').set('Authorization', `Bearer ${token}`);

    it('accepts the genuine token (control)', async () => {
      await call(s.accessToken).expect(200);
      await call(forge({ alg: 'HS256', typ: 'JWT' }, claims)).expect(200);
    });
    it('refuses alg none', async () => {
      await call(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`).expect(401);
      await call(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}`).expect(401);
    });
    it('refuses a token signed with another key', async () => {
      await call(forge({ alg: 'HS256', typ: 'JWT' }, claims, 'another-secret-another-secret-another-secret')).expect(
        401,
      );
    });
    it('refuses an algorithm other than HS256 even with the right key', async () => {
      const body = `${b64({ alg: 'HS512', typ: 'JWT' })}.${b64(claims)}`;
      await call(`${body}.${createHmac('sha512', SECRET).update(body).digest('base64url')}`).expect(401);
    });
    it('refuses an edited payload (role escalation) with the original signature', async () => {
      const [h, , sig] = s.accessToken.split('.');
      await call(
        `${h}.${b64({ ...claims, role: 'admin', teamId: '00000000-0000-4000-8000-000000000000' })}.${sig}`,
      ).expect(401);
    });
    it('refuses an expired token', async () => {
      const now = Math.floor(Date.now() / 1000);
      const res = await call(forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now - 1000, exp: now - 10 })).expect(
        401,
      );
      expectError(res.body, 401, 'UNAUTHORIZED');
    });
    it('refuses a wrong audience, a wrong issuer and a non-access token type', async () => {
      await call(forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, aud: 'someone-else' })).expect(401);
      await call(forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, iss: 'someone-else' })).expect(401);
      await call(forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, typ: 'refresh' })).expect(401);
    });
  });

  it('refuses a deactivated user on the next request, and their login', async () => {
    const admin = await registerTeam(t);
    const member = await addMember(t, admin, 'user');
    await t.http().get('/api/auth/me').set(member.bearer).expect(200);
    await t
      .http()
      .patch(`/api/teams/current/members/${member.userId}`)
      .set(admin.bearer)
      .send({ isActive: false })
      .expect(200);
    await t.http().get('/api/auth/me').set(member.bearer).expect(401);
    await t.http().post('/api/auth/refresh').send({ refreshToken: member.refreshToken }).expect(401);
    await t.http().post('/api/auth/login').send({ email: member.email, password: member.password }).expect(401);
  });

  it('applies a demotion on the next request (the role comes from the database)', async () => {
    const admin = await registerTeam(t);
    const second = await addMember(t, admin, 'admin');
    await t.http().post('/api/teams/current/invites').set(second.bearer).send({ role: 'user' }).expect(201);
    await t
      .http()
      .patch(`/api/teams/current/members/${second.userId}`)
      .set(admin.bearer)
      .send({ role: 'user' })
      .expect(200);
    await t.http().post('/api/teams/current/invites').set(second.bearer).send({ role: 'user' }).expect(403);
  });

  describe('CSRF: cookie-authenticated unsafe requests', () => {
    it('refuses a cookie POST without Origin or from a foreign Origin (403), accepts an allowed Origin', async () => {
      const s = await registerTeam(t);
      const c = `access_token=${s.accessToken}`;
      const none = await t
        .http()
        .post('/api/teams/current/invites')
        .set('Cookie', c)
        .send({ role: 'user' })
        .expect(403);
      expectError(none.body, 403, 'FORBIDDEN');
      await t
        .http()
        .post('/api/teams/current/invites')
        .set('Cookie', c)
        .set('Origin', 'https://evil.example')
        .send({ role: 'user' })
        .expect(403);
      await t
        .http()
        .post('/api/teams/current/invites')
        .set('Cookie', c)
        .set('Origin', ORIGIN)
        .send({ role: 'user' })
        .expect(201);
      await t.http().patch('/api/teams/current').set('Cookie', c).send({ name: 'x' }).expect(403);
    });

    it('needs no Origin for Bearer requests or cookie reads', async () => {
      const s = await registerTeam(t);
      await t.http().post('/api/teams/current/invites').set(s.bearer).send({ role: 'user' }).expect(201);
      await t.http().get('/api/teams/current').set('Cookie', `access_token=${s.accessToken}`).expect(200);
    });
  });

  describe('passwords', () => {
    const register = (password: string, email = uniqueEmail('pw')) =>
      t.http().post('/api/auth/register').send({ email, password, teamName: 'PW team' });

    it.each([
      ['too short', 'Ab1!xyz'],
      ['too long', `A1!${'x'.repeat(130)}`],
      ['common', 'password123'],
      ['common in another case', 'QwErTy123'],
    ])('refuses a %s password with fieldErrors', async (_what, password) => {
      const res = await register(password).expect(400);
      expectError(res.body, 400, 'VALIDATION_FAILED');
      expect(res.body.details.fieldErrors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'password' })]),
      );
    });

    it("refuses a password containing the email's local part", async () => {
      const res = await register('my-margaret-secret-77', 'margaret@example.test').expect(400);
      expect(res.body.details.fieldErrors[0].message).toMatch(/email/);
    });

    it('stores passwords as scrypt with one of the OWASP parameter sets (N = 2^13..2^17, r = 8)', async () => {
      const s = await registerTeam(t);
      const [row] = await ds.query(`SELECT password_hash FROM users WHERE id = $1`, [s.userId]);
      const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22,}\$[A-Za-z0-9+/]{43,}$/.exec(row.password_hash);
      expect(m).not.toBeNull();
      // OWASP Password Storage Cheat Sheet: N=2^17 p=1, 2^16 p=2, 2^15 p=3, 2^14 p=5, 2^13 p=10, all with r=8.
      expect(['17,8,1', '16,8,2', '15,8,3', '14,8,5', '13,8,10']).toContain(m!.slice(1, 4).join(','));
    });
  });

  describe('register modes', () => {
    it('requires exactly one of teamName, inviteToken, teamId', async () => {
      const base = { email: uniqueEmail(), password: strongPassword() };
      await t.http().post('/api/auth/register').send(base).expect(400);
      const two = await t
        .http()
        .post('/api/auth/register')
        .send({ ...base, teamName: 'A', teamId: '00000000-0000-4000-8000-000000000000' })
        .expect(400);
      expectError(two.body, 400, 'VALIDATION_FAILED');
    });

    it('joins a team by id only when it allows open sign-up', async () => {
      const admin = await registerTeam(t);
      const body = () => ({ email: uniqueEmail('open'), password: strongPassword(), teamId: admin.teamId });
      const closed = await t.http().post('/api/auth/register').send(body()).expect(404);
      expect(closed.body.details.fieldErrors).toEqual([
        { field: 'teamId', message: 'teamId must be a team that allows open sign-up' },
      ]);
      await t.http().patch('/api/teams/current').set(admin.bearer).send({ allowOpenSignup: true }).expect(200);
      const res = await t.http().post('/api/auth/register').send(body()).expect(201);
      expect(res.body.user).toEqual(expect.objectContaining({ teamId: admin.teamId, role: 'user' }));
      await t
        .http()
        .post('/api/auth/register')
        .send({ ...body(), teamId: '00000000-0000-4000-8000-000000000000' })
        .expect(404);
    });

    it('keeps emails unique per team case-insensitively (409)', async () => {
      const admin = await registerTeam(t);
      await t.http().patch('/api/teams/current').set(admin.bearer).send({ allowOpenSignup: true }).expect(200);
      const res = await t
        .http()
        .post('/api/auth/register')
        .send({ email: admin.email.toUpperCase(), password: strongPassword(), teamId: admin.teamId })
        .expect(409);
      expectError(res.body, 409, 'CONFLICT');
    });
  });

  describe('the same email in two teams', () => {
    it('needs `team` to log in, without revealing the teams, and logs into the named one', async () => {
      const email = uniqueEmail('twin');
      const password = strongPassword();
      const a = await registerTeam(t, { email, password });
      const b = await registerTeam(t, { email, password });
      const ambiguous = await t.http().post('/api/auth/login').send({ email, password }).expect(400);
      expect(ambiguous.body.message).toMatch(/team/);
      expect(JSON.stringify(ambiguous.body)).not.toContain(a.teamSlug);
      expect(JSON.stringify(ambiguous.body)).not.toContain(b.teamSlug);
      expect((await login(t, email, password, a.teamSlug)).teamId).toBe(a.teamId);
      expect((await login(t, email, password, b.teamSlug)).teamId).toBe(b.teamId);
      // Without the password, nobody learns that the email exists in several teams.
      await t.http().post('/api/auth/login').send({ email, password: 'Not-the-password-1' }).expect(401);
      await t.http().post('/api/auth/login').send({ email, password, team: 'no-such-team' }).expect(401);
    });
  });
});
