import type { Response } from 'express';
import { clearAuthCookies, REFRESH_COOKIE_PATH, setAuthCookies } from 'src/auth/auth-http';
import { loadConfig } from 'src/config/env';

function recorder() {
  const set: { name: string; path?: string }[] = [];
  const cleared: { name: string; path?: string }[] = [];
  const res = {
    cookie: (name: string, _v: string, o: { path?: string }) => set.push({ name, path: o.path }),
    clearCookie: (name: string, o: { path?: string }) => cleared.push({ name, path: o.path }),
  } as unknown as Response;
  return { res, set, cleared };
}

describe('auth cookies', () => {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: '/tmp/auth-http-spec',
    JWT_SECRET: 'x'.repeat(40),
    ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
  });

  it('scopes the refresh cookie to the canonical auth routes by default', () => {
    const { res, set, cleared } = recorder();
    setAuthCookies(res, config, 'a', 'r');
    clearAuthCookies(res, config);
    expect(set).toEqual([
      { name: 'access_token', path: '/' },
      { name: 'refresh_token', path: REFRESH_COOKIE_PATH },
    ]);
    expect(cleared).toEqual(set);
  });

  it("sets and clears the refresh cookie on a surface's own auth path when given a scope", () => {
    const { res, set, cleared } = recorder();
    const scope = { refreshPath: '/compat/n8n/api/auth' };
    setAuthCookies(res, config, 'a', 'r', scope);
    clearAuthCookies(res, config, scope);
    expect(set).toEqual([
      { name: 'access_token', path: '/' },
      { name: 'refresh_token', path: '/compat/n8n/api/auth' },
    ]);
    expect(cleared).toEqual(set);
  });
});
