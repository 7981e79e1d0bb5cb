import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AccessDenylistService } from 'src/auth/access-denylist.service';
import type { AccessClaims } from 'src/auth/access-token.service';
import { AuthRequest, extractAccessToken } from 'src/auth/auth-http';
import { REDIS_CLIENT } from 'src/common/redis/redis.module';
import { UsersService } from 'src/teams/users.service';

/**
 * The reads started for a request, beside it rather than on it: a property added to the request object late (it
 * already holds Express's and passport's) through a keyed store can turn it into a dictionary, 3 KB more per
 * request for as long as an SSE stream stays open (docs/performance.md, session 8).
 */
const PREFETCHED = new WeakMap<object, Prefetched>();

/** Reads started for a token before its signature was checked, keyed by the claims they were asked for. */
interface Prefetched {
  jti: string;
  sid: string | undefined;
  teamId: string;
  sub: string;
  /** null: Redis could not answer; the strategy asks the denylist itself. */
  revoked: Promise<boolean | null>;
  memberStamp: Promise<string | null>;
}

/**
 * Starts authentication's Redis reads (is the token's `jti` or `sid` denylisted, the member's version
 * stamp) from the rate limiter's guard, just before its counter, so that the three are in flight together:
 * the guards wait for one round trip instead of two in a row (guards run one after another).
 *
 * The token's claims are only decoded here, not verified: they name what to read, nothing is decided on
 * them. JwtStrategy verifies the token as before and uses the reads only when the verified claims are the
 * ones they were made for (`take`); otherwise it reads again. A revoked token is refused as before: the
 * reads are made after the request arrived, as they were in the strategy.
 */
@Injectable()
export class AuthPrefetch {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    private readonly denylist: AccessDenylistService,
    private readonly users: UsersService,
  ) {}

  /**
   * Without Redis (or while it is unreachable) nothing is started: the strategy reads as before. Only reads,
   * and only on Redis, for claims nobody has verified yet: the stamp is peeked (`VersionStamps.peek`), never
   * created, and the denylist is asked without its database fallback (`peekRevoked`).
   */
  start(req: AuthRequest): void {
    if (!this.redis || this.redis.status !== 'ready') return;
    const token = extractAccessToken(req);
    const claims = token ? decodeUnverified(token) : null;
    if (!claims) return;
    const { jti, sid, teamId, sub } = claims;
    PREFETCHED.set(req, {
      jti,
      sid,
      teamId,
      sub,
      revoked: this.denylist.peekRevoked(jti, sid),
      memberStamp: this.users.peekMemberStamp(teamId, sub),
    });
  }

  /** The reads started for exactly these (verified) claims, once; null when there are none. */
  static take(req: AuthRequest, claims: AccessClaims): Prefetched | null {
    const p = PREFETCHED.get(req);
    if (!p) return null;
    PREFETCHED.delete(req);
    return p.jti === claims.jti && p.sid === claims.sid && p.teamId === claims.teamId && p.sub === claims.sub
      ? p
      : null;
  }
}

/** The payload of a JWT whose shape is an access token's, not verified (see AuthPrefetch); else null. */
export function decodeUnverified(
  token: string,
): { jti: string; sid: string | undefined; teamId: string; sub: string } | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1].length > 4096) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!payload || typeof payload !== 'object') return null;
  const c = payload as Record<string, unknown>;
  const str = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 200;
  if (c.typ !== 'access' || !str(c.jti) || !str(c.teamId) || !str(c.sub)) return null;
  if (c.sid !== undefined && !str(c.sid)) return null;
  return { jti: c.jti as string, sid: c.sid as string | undefined, teamId: c.teamId as string, sub: c.sub as string };
}
