import { login, registerTeam } from 'test/factories/auth.factory';
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
