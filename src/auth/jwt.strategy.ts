import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { AccessDenylistService } from 'src/auth/access-denylist.service';
import { AccessClaims, JWT_ALGORITHM } from 'src/auth/access-token.service';
import { AuthErrors } from 'src/auth/auth.errors';
import { AuthRequest, extractAccessToken } from 'src/auth/auth-http';
import { AuthPrefetch } from 'src/auth/auth-prefetch';
import { jwtKeyOption } from 'src/auth/jwt-key';
import type { AuthUser } from 'src/common/auth-user';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { UsersService } from 'src/teams/users.service';

/**
 * passport-jwt with the algorithm, issuer and audience fixed by the server (HS256 only: `none` and any
 * algorithm named by the token are refused). Then, per request: the token must be an access token, its
 * `jti` and its session (`sid`, the refresh family) not denylisted, and the user and team still active.
 * The role comes from the database, so a demotion takes effect on the next request.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly denylist: AccessDenylistService,
    private readonly users: UsersService,
  ) {
    super({
      jwtFromRequest: extractAccessToken,
      secretOrKey: jwtKeyOption(config.auth.jwtSecret),
      algorithms: [JWT_ALGORITHM],
      issuer: config.auth.jwtIssuer,
      audience: config.auth.jwtAudience,
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: 0 },
      passReqToCallback: true,
    });
  }

  async validate(req: AuthRequest, claims: AccessClaims): Promise<AuthUser> {
    if (claims.typ !== 'access' || !claims.jti || !claims.sub || !claims.teamId)
      throw AuthErrors.unauthorized('Invalid access token');
    // Both are answered from memory or by one Redis round trip together (see their classes), usually the
    // one the rate limiter's counter went in, started by its guard for these claims (AuthPrefetch).
    const early = AuthPrefetch.take(req, claims);
    const ask = () => this.denylist.isRevoked(claims.jti, claims.sid);
    const [revoked, user] = await Promise.all([
      early ? early.revoked.then((r) => r ?? ask()) : ask(),
      this.users.findActiveMember(claims.teamId, claims.sub, early?.memberStamp),
    ]);
    if (revoked) throw AuthErrors.unauthorized('Access token has been revoked');
    if (!user) throw AuthErrors.unauthorized('Account is not active');
    return { id: user.id, teamId: user.teamId, role: user.role, email: user.email, jti: claims.jti, exp: claims.exp };
  }
}
