import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { RevokedAccessTokenRepository } from 'src/auth/revoked-access-token.repository';
import { dependencyFailure } from 'src/common/errors/dependency-failure';
import { REDIS_CLIENT } from 'src/common/redis/redis.module';
import { APP_CONFIG, AppConfig } from 'src/config/env';

/** A revoked session (refresh family) is kept under this key prefix, beside the revoked `jti`s. */
const SESSION = 'sid:';
/** Slack added to a session's entry: an access token signed just after the revocation committed (a refresh in flight) is covered too. */
const SESSION_SLACK_SEC = 60;

/**
 * Revoked access tokens, by `jti` (one token: logout) and by `sid` (every token of a session: refresh
 * family revoked for reuse, logout), kept until the tokens they cover would have expired: Redis when
 * configured, else the database. Every authenticated request asks about its `jti` and `sid` together in
 * one round trip (one EXISTS of two keys, one indexed query), so the session check costs nothing more;
 * with the embedded database (one process) the list is also held in memory and asking costs no query.
 * With Redis, every revocation is also written to the database, and while Redis is unreachable the
 * database answers (authentication keeps working, and a revoked token stays refused).
 */
@Injectable()
export class AccessDenylistService implements OnModuleInit {
  private readonly prefix: string;
  private readonly sessionTtlSec: number;
  /** key → expiry (ms), embedded database only. */
  private readonly local: Map<string, number> | null;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    private readonly db: RevokedAccessTokenRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.prefix = `${config.redisKeyPrefix}auth:deny:`;
    this.sessionTtlSec = config.auth.accessTtlSec + SESSION_SLACK_SEC;
    this.local = !redis && config.db.embedded ? new Map() : null;
  }

  async onModuleInit(): Promise<void> {
    if (!this.local) return;
    for (const r of await this.db.listUnexpired()) this.local.set(r.jti, r.expiresAt.getTime());
  }

  /** One access token. `exp`: the token's expiry in seconds since epoch. */
  async revoke(jti: string, exp: number, teamId: string | null, userId: string | null): Promise<void> {
    await this.add(jti, exp, teamId, userId);
  }

  /**
   * Every access token issued in the session `sid` (a refresh family), on every instance: no token of it
   * outlives the access TTL from now, so the entry lasts that long (plus a minute of slack).
   */
  async revokeSession(sid: string, teamId: string | null, userId: string | null): Promise<void> {
    await this.add(SESSION + sid, Math.ceil(Date.now() / 1000) + this.sessionTtlSec, teamId, userId);
  }

  /** True when the token `jti` or its session `sid` was revoked. */
  async isRevoked(jti: string, sid?: string): Promise<boolean> {
    const keys = sid ? [jti, SESSION + sid] : [jti];
    const redis = this.redis;
    if (redis) {
      // While Redis is unreachable the database answers (every revocation is written there too).
      if (redis.status !== 'ready') return this.db.isAnyRevoked(keys);
      try {
        return (await redis.exists(...keys.map((k) => this.prefix + k))) > 0;
      } catch (err) {
        if (dependencyFailure(err) !== 'redis') throw err;
        return this.db.isAnyRevoked(keys);
      }
    }
    if (!this.local) return this.db.isAnyRevoked(keys);
    return keys.some((k) => this.localHas(k));
  }

  /**
   * `isRevoked` asked of Redis only, for a token not verified yet (AuthPrefetch): null when Redis is not
   * there or cannot answer, and the caller then asks `isRevoked` (so an unverified token never costs a
   * database query). Never rejects.
   */
  async peekRevoked(jti: string, sid?: string): Promise<boolean | null> {
    const redis = this.redis;
    if (!redis || redis.status !== 'ready') return null;
    const keys = sid ? [jti, SESSION + sid] : [jti];
    return redis.exists(...keys.map((k) => this.prefix + k)).then(
      (n) => n > 0,
      () => null,
    );
  }

  private async add(key: string, exp: number, teamId: string | null, userId: string | null): Promise<void> {
    const ttl = Math.ceil(exp - Date.now() / 1000);
    if (ttl <= 0) return;
    if (this.redis) {
      await this.db.add(key, teamId, userId, new Date(exp * 1000));
      await this.redis.set(`${this.prefix}${key}`, '1', 'EX', ttl).catch((err: unknown) => {
        if (dependencyFailure(err) !== 'redis') throw err; // the database holds it; lookups fall back there
      });
      return;
    }
    await this.db.add(key, teamId, userId, new Date(exp * 1000));
    if (!this.local) return;
    this.local.set(key, exp * 1000);
    if (this.local.size % 1000 === 0) for (const [k, e] of this.local) if (e <= Date.now()) this.local.delete(k);
  }

  private localHas(key: string): boolean {
    const exp = this.local!.get(key);
    if (exp === undefined) return false;
    if (exp > Date.now()) return true;
    this.local!.delete(key);
    return false;
  }
}
