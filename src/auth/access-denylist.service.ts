import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { RevokedAccessTokenRepository } from 'src/auth/revoked-access-token.repository';
import { REDIS_CLIENT } from 'src/common/redis/redis.module';
import { APP_CONFIG, AppConfig } from 'src/config/env';

/** Revoked access tokens by `jti`, kept until they would have expired: Redis when configured, else the database. */
@Injectable()
export class AccessDenylistService {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    private readonly db: RevokedAccessTokenRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.prefix = `${config.redisKeyPrefix}auth:deny:`;
  }

  /** `exp`: the token's expiry in seconds since epoch. */
  async revoke(jti: string, exp: number, teamId: string | null, userId: string | null): Promise<void> {
    const ttl = Math.ceil(exp - Date.now() / 1000);
    if (ttl <= 0) return;
    if (this.redis) await this.redis.set(`${this.prefix}${jti}`, '1', 'EX', ttl);
    else await this.db.add(jti, teamId, userId, new Date(exp * 1000));
  }

  async isRevoked(jti: string): Promise<boolean> {
    if (this.redis) return (await this.redis.exists(`${this.prefix}${jti}`)) === 1;
    return this.db.isRevoked(jti);
  }
}
