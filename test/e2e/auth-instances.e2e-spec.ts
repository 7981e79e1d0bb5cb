import { registerTeam } from 'test/factories/auth.factory';
import { authenticateWith } from 'test/utils/passport-instances';
import { createTestApp, TestApp } from 'test/utils/test-app';

/**
 * Two instances of the service on one database (and one Redis when configured), as in a scaled deployment.
 * Needs a real server (TEST_DATABASE_URL): the embedded database belongs to one process.
 */
const shared = process.env.TEST_DATABASE_URL ? describe : describe.skip;

shared('Auth across two instances', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await createTestApp({ env: { AUTH_LOCKOUT_STEPS: '3:600' } });
    b = await createTestApp({
      env: { AUTH_LOCKOUT_STEPS: '3:600', DATABASE_URL: a.config.db.url, REDIS_KEY_PREFIX: a.config.redisKeyPrefix },
    });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('shares lock-out counters: failures on both instances add up and the lock holds on both', async () => {
    const s = await registerTeam(a);
    await a.http().post('/api/auth/login').send({ email: s.email, password: 'Wrong-password-1' }).expect(401);
    await b.http().post('/api/auth/login').send({ email: s.email, password: 'Wrong-password-2' }).expect(401);
    await a.http().post('/api/auth/login').send({ email: s.email, password: 'Wrong-password-3' }).expect(429);
    await b.http().post('/api/auth/login').send({ email: s.email, password: s.password }).expect(429);
  });

  it('honours a logout (denylisted access token) and a refresh rotation made on the other instance', async () => {
    const s = await registerTeam(a);
    // One process, two apps: passport's 'jwt' strategy is global (the last app created wins), so each
    // request carrying the access token is authenticated by the instance it goes to (see the helper).
    // Login, register and refresh do not use the strategy.
    authenticateWith(b.app);
    await b.http().get('/api/auth/me').set(s.bearer).expect(200);
    const rotated = await b.http().post('/api/auth/refresh').send({ refreshToken: s.refreshToken }).expect(200);
    await a.http().post('/api/auth/refresh').send({ refreshToken: s.refreshToken }).expect(401); // reuse
    authenticateWith(a.app);
    await a.http().post('/api/auth/logout').set(s.bearer).expect(204);
    authenticateWith(b.app);
    await b.http().get('/api/auth/me').set(s.bearer).expect(401);
    await b.http().post('/api/auth/refresh').send({ refreshToken: rotated.body.refreshToken }).expect(401);
  });
});
