import { login, registerTeam } from 'test/factories/auth.factory';
import { authenticateWith } from 'test/utils/passport-instances';
import { createTestApp, TestApp } from 'test/utils/test-app';

/**
 * A session is a refresh-token family; every access token carries its id (`sid`). Ending the session
 * (refresh-token reuse, logout) ends every access token issued in it at once, not when they expire.
 */
describe('Auth sessions: a revoked refresh family ends its access tokens at once', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const me = (token: string) => t.http().get('/api/auth/me').set('Authorization', `Bearer ${token}`);

  it('refresh-token reuse makes every access token of the family 401, other sessions keep working', async () => {
    const s = await registerTeam(t);
    const other = await login(t, s.email, s.password);
    const rotated = await t.http().post('/api/auth/refresh').send({ refreshToken: s.refreshToken }).expect(200);
    await me(s.accessToken).expect(200);
    await me(rotated.body.accessToken).expect(200);

    await t.http().post('/api/auth/refresh').send({ refreshToken: s.refreshToken }).expect(401); // reuse

    const first = await me(s.accessToken).expect(401);
    expect(first.body).toEqual(expect.objectContaining({ statusCode: 401, error: 'UNAUTHORIZED' }));
    await me(rotated.body.accessToken).expect(401);
    await me(other.accessToken).expect(200);
  });

  it('logout with a refresh token alone ends the access tokens issued in that session', async () => {
    const s = await registerTeam(t);
    const rotated = await t.http().post('/api/auth/refresh').send({ refreshToken: s.refreshToken }).expect(200);
    await t.http().post('/api/auth/logout').send({ refreshToken: rotated.body.refreshToken }).expect(204);
    await me(s.accessToken).expect(401);
    await me(rotated.body.accessToken).expect(401);
  });

  it('logout by Bearer ends the session: an access token issued in it earlier is 401 too', async () => {
    const s = await registerTeam(t);
    const rotated = await t.http().post('/api/auth/refresh').send({ refreshToken: s.refreshToken }).expect(200);
    await t.http().post('/api/auth/logout').set('Authorization', `Bearer ${rotated.body.accessToken}`).expect(204);
    await me(s.accessToken).expect(401);
  });
});

/** Two instances on one database (and one Redis when configured): needs a real server (TEST_DATABASE_URL). */
const shared = process.env.TEST_DATABASE_URL ? describe : describe.skip;

shared('Auth sessions across two instances', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({ env: { DATABASE_URL: a.config.db.url, REDIS_KEY_PREFIX: a.config.redisKeyPrefix } });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('a reuse detected on one instance ends the family access tokens on the other at once', async () => {
    const s = await registerTeam(a);
    const rotated = await a.http().post('/api/auth/refresh').send({ refreshToken: s.refreshToken }).expect(200);
    authenticateWith(b.app);
    await b.http().get('/api/auth/me').set('Authorization', `Bearer ${rotated.body.accessToken}`).expect(200);
    await a.http().post('/api/auth/refresh').send({ refreshToken: s.refreshToken }).expect(401); // reuse, on A
    await b.http().get('/api/auth/me').set('Authorization', `Bearer ${rotated.body.accessToken}`).expect(401);
    await b.http().get('/api/auth/me').set(s.bearer).expect(401);
  });
});
