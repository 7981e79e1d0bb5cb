import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { Role } from 'src/common/auth-user';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { jwtKeyOption } from 'src/auth/jwt-key';

/** The access token's claims. The algorithm is fixed by the server (HS256), never read from the token. */
export interface AccessClaims {
  sub: string;
  teamId: string;
  role: Role;
  jti: string;
  /** The refresh-token family (login session) this token was issued with: logout by Bearer revokes it. */
  sid?: string;
  typ: 'access';
  iss: string;
  aud: string;
  iat: number;
  exp: number;
}

export const JWT_ALGORITHM = 'HS256' as const;

/** Signs and verifies short-lived access JWTs. */
@Injectable()
export class AccessTokenService {
  constructor(
    private readonly jwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  sign(
    user: { id: string; teamId: string; role: Role },
    sid: string,
  ): { token: string; jti: string; expiresIn: number } {
    const jti = randomUUID();
    const expiresIn = this.config.auth.accessTtlSec;
    const token = this.jwt.sign(
      { teamId: user.teamId, role: user.role, sid, typ: 'access' },
      {
        algorithm: JWT_ALGORITHM,
        secret: jwtKeyOption(this.config.auth.jwtSecret),
        expiresIn,
        issuer: this.config.auth.jwtIssuer,
        audience: this.config.auth.jwtAudience,
        subject: user.id,
        jwtid: jti,
      },
    );
    return { token, jti, expiresIn };
  }

  /** Verifies a token (logout uses it on a public route); null when it is not a valid access token. */
  verify(token: string): AccessClaims | null {
    try {
      const claims = this.jwt.verify<AccessClaims>(token, {
        algorithms: [JWT_ALGORITHM],
        secret: jwtKeyOption(this.config.auth.jwtSecret),
        issuer: this.config.auth.jwtIssuer,
        audience: this.config.auth.jwtAudience,
      });
      return claims.typ === 'access' && claims.jti && claims.sub ? claims : null;
    } catch {
      return null;
    }
  }
}
