import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { RevokedAccessTokenRepository } from 'src/auth/revoked-access-token.repository';
import { dependencyFailure } from 'src/common/errors/dependency-failure';
import { REDIS_CLIENT } from 'src/common/redis/redis.module';
import { APP_CONFIG, AppConfig } from 'src/config/env';

/**
 * Revoked access tokens by `jti`, kept until they would have expired: Redis when configured, else the
 * database. With Redis, a revocation is also written to the database, and while Redis is unreachable the
 * database answers (authentication keeps working, and a logged-out token stays refused). Every authenticated request asks, so with the embedded database (one process) the list is
 * also held in memory (loaded at start, small: access tokens live minutes) and asking costs no query.
 */
@Injectable()
export class AccessDenylistService implements OnModuleInit {
  private readonly prefix: string;
  /** jti → expiry (ms), embedded database only. */
  private readonly local: Map<string, number> | null;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    private readonly db: RevokedAccessTokenRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.prefix = `${config.redisKeyPrefix}auth:deny:`;
    this.local = !redis && !config.db.url ? new Map() : null;
  }

  async onModuleInit(): Promise<void> {
    if (!this.local) return;
    for (const r of await this.db.listUnexpired()) this.local.set(r.jti, r.expiresAt.getTime());
  }

  /** `exp`: the token's expiry in seconds since epoch. */
  async revoke(jti: string, exp: number, teamId: string | null, userId: string | null): Promise<void> {
    const ttl = Math.ceil(exp - Date.now() / 1000);
    if (ttl <= 0) return;
    if (this.redis) {
      await this.db.add(jti, teamId, userId, new Date(exp * 1000));
      await this.redis.set(`${this.prefix}${jti}`, '1', 'EX', ttl).catch((err: unknown) => {
        if (dependencyFailure(err) !== 'redis') throw err; // the database holds it; lookups fall back there
      });
      return;
    }
    await this.db.add(jti, teamId, userId, new Date(exp * 1000));
    if (!this.local) return;
    this.local.set(jti, exp * 1000);
    if (this.local.size % 1000 === 0) for (const [k, e] of this.local) if (e <= Date.now()) this.local.delete(k);
  }

  async isRevoked(jti: string): Promise<boolean> {
    const redis = this.redis;
    if (redis) {
      if (redis.status !== 'ready') return this.db.isRevoked(jti);
      try {
        return (await redis.exists(`${this.prefix}${jti}`)) === 1;
      } catch (err) {
        if (dependencyFailure(err) !== 'redis') throw err;
        return this.db.isRevoked(jti);
      }
    }
    if (!this.local) return this.db.isRevoked(jti);
    const exp = this.local.get(jti);
    if (exp === undefined) return false;
    if (exp > Date.now()) return true;
    this.local.delete(jti);
    return false;
  }
}
