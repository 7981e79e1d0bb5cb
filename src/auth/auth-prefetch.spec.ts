import type Redis from 'ioredis';
import type { AccessDenylistService } from 'src/auth/access-denylist.service';
import type { AccessClaims } from 'src/auth/access-token.service';
import { AuthPrefetch, decodeUnverified } from 'src/auth/auth-prefetch';
import type { AuthRequest } from 'src/auth/auth-http';
import { JwtStrategy } from 'src/auth/jwt.strategy';
import type { AppConfig } from 'src/config/env';
import type { User } from 'src/teams/entities/user.entity';
import type { UsersService } from 'src/teams/users.service';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** A token of the right shape; its signature does not matter here (nothing is decided on unverified claims). */
const token = (payload: object) => `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}.sig`;
const claims = (over: Partial<AccessClaims> = {}): AccessClaims => ({
  sub: 'user-1',
  teamId: 'team-1',
  role: 'user',
  jti: 'jti-1',
  sid: 'sid-1',
  typ: 'access',
  iss: 'iss',
  aud: 'aud',
  iat: 1,
  exp: 2,
  ...over,
});
const request = (t: string) =>
  ({ headers: { authorization: `Bearer ${t}` }, method: 'POST' }) as unknown as AuthRequest;

describe('decodeUnverified', () => {
  it("reads an access token's jti, sid, teamId and sub without verifying it", () => {
    expect(decodeUnverified(token(claims()))).toEqual({ jti: 'jti-1', sid: 'sid-1', teamId: 'team-1', sub: 'user-1' });
    expect(decodeUnverified(token(claims({ sid: undefined })))).toEqual(
      expect.objectContaining({ jti: 'jti-1', sid: undefined }),
    );
  });

  it('gives null for anything else: another type, missing or odd claims, not a JWT, oversized', () => {
    expect(decodeUnverified(token({ ...claims(), typ: 'refresh' }))).toBeNull();
    expect(decodeUnverified(token({ ...claims(), jti: '' }))).toBeNull();
    expect(decodeUnverified(token({ ...claims(), teamId: 42 }))).toBeNull();
    expect(decodeUnverified(token({ ...claims(), sid: { $ne: 1 } }))).toBeNull();
    expect(decodeUnverified(token({ ...claims(), sub: 'x'.repeat(201) }))).toBeNull();
    expect(decodeUnverified('not-a-jwt')).toBeNull();
    expect(decodeUnverified('a.%%%.c')).toBeNull();
    expect(decodeUnverified(`a.${'A'.repeat(5000)}.c`)).toBeNull();
  });
});

describe('AuthPrefetch with JwtStrategy', () => {
  const config = {
    auth: { jwtSecret: 'x'.repeat(48), jwtIssuer: 'iss', jwtAudience: 'aud' },
  } as unknown as AppConfig;
  const member = { id: 'user-1', teamId: 'team-1', role: 'user', email: 'u@example.com' } as unknown as User;

  function setup(revokedJtis: string[]) {
    const isRevoked = jest.fn((jti: string) => Promise.resolve(revokedJtis.includes(jti)));
    const peekRevoked = jest.fn((jti: string) => Promise.resolve(revokedJtis.includes(jti)));
    const findActiveMember = jest.fn((..._args: unknown[]) => Promise.resolve(member));
    const denylist = { isRevoked, peekRevoked } as unknown as AccessDenylistService;
    const users = {
      peekMemberStamp: () => Promise.resolve('stamp'),
      findActiveMember,
    } as unknown as UsersService;
    const prefetch = new AuthPrefetch({ status: 'ready' } as Redis, denylist, users);
    const strategy = new JwtStrategy(config, denylist, users);
    return {
      denylist: { isRevoked, peekRevoked },
      users: { findActiveMember },
      deps: { denylist, users },
      prefetch,
      strategy,
    };
  }

  it('uses the reads started for the same verified claims', async () => {
    const { denylist, users, prefetch, strategy } = setup([]);
    const req = request(token(claims()));
    prefetch.start(req);
    expect(denylist.peekRevoked).toHaveBeenCalledWith('jti-1', 'sid-1');
    await expect(strategy.validate(req, claims())).resolves.toEqual(expect.objectContaining({ id: 'user-1' }));
    expect(denylist.isRevoked).not.toHaveBeenCalled(); // not asked again
    expect(users.findActiveMember).toHaveBeenCalledWith('team-1', 'user-1', expect.any(Promise));
  });

  it('refuses a revoked token whose denylist entry was read early', async () => {
    const { prefetch, strategy } = setup(['jti-1']);
    const req = request(token(claims()));
    prefetch.start(req);
    await expect(strategy.validate(req, claims())).rejects.toThrow('Access token has been revoked');
  });

  it('asks the denylist itself (with its database fallback) when Redis could not answer the early read', async () => {
    const { denylist, prefetch, strategy } = setup(['jti-1']);
    denylist.peekRevoked.mockResolvedValueOnce(null as never);
    const req = request(token(claims()));
    prefetch.start(req);
    await expect(strategy.validate(req, claims())).rejects.toThrow('Access token has been revoked');
    expect(denylist.isRevoked).toHaveBeenCalledWith('jti-1', 'sid-1');
  });

  it('ignores reads made for other claims than the verified ones, and asks again', async () => {
    // A request could carry reads for claims that are not the verified token's (e.g. a second token in the
    // cookie while the header's is verified, or a payload edited after decoding): they must not decide.
    const { denylist, prefetch, strategy } = setup(['jti-revoked']);
    for (const other of [{ jti: 'jti-clean' }, { sid: 'sid-other' }, { teamId: 'team-2' }, { sub: 'user-2' }]) {
      const req = request(token(claims({ jti: 'jti-revoked', ...other })));
      prefetch.start(req);
      denylist.isRevoked.mockClear();
      const verified = claims({ jti: 'jti-revoked' });
      await expect(strategy.validate(req, verified)).rejects.toThrow('Access token has been revoked');
      expect(denylist.isRevoked).toHaveBeenCalledWith('jti-revoked', 'sid-1');
    }
  });

  it('starts nothing without a ready Redis (the strategy reads as before)', async () => {
    const { denylist, users, deps, strategy } = setup(['jti-1']);
    const prefetch = new AuthPrefetch({ status: 'reconnecting' } as Redis, deps.denylist, deps.users);
    const req = request(token(claims()));
    prefetch.start(req);
    expect(denylist.peekRevoked).not.toHaveBeenCalled();
    await expect(strategy.validate(req, claims())).rejects.toThrow('Access token has been revoked');
    expect(users.findActiveMember).toHaveBeenCalledWith('team-1', 'user-1', undefined);
  });
});
