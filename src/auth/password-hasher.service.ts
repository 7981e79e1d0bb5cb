import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import * as argon2 from 'argon2';
import { BoundedPool, PoolSaturatedError } from 'src/auth/hash-pool';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { randomToken } from 'src/teams/token-hash';

/** OWASP Password Storage Cheat Sheet: Argon2id, m = 19 MiB, t = 2, p = 1. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

/**
 * Argon2id hashing and verification on a bounded pool: at most `AUTH_HASH_CONCURRENCY` computations at once
 * (each takes ~19 MiB), at most `AUTH_HASH_QUEUE_MAX` callers waiting, the rest refused with 503 +
 * Retry-After, so a login flood can exhaust neither memory nor the libuv thread pool.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  private readonly pool: BoundedPool;
  private dummyHash = '';

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.pool = new BoundedPool(config.auth.hashConcurrency, config.auth.hashQueueMax);
  }

  async onModuleInit(): Promise<void> {
    // Verified against when the account does not exist, so that a login costs the same either way.
    this.dummyHash = await argon2.hash(randomToken(), ARGON2_OPTIONS);
  }

  get stats(): BoundedPool['stats'] {
    return this.pool.stats;
  }

  hash(password: string): Promise<string> {
    return this.guarded(() => argon2.hash(password, ARGON2_OPTIONS));
  }

  /** Verifies against `hash`, or against a dummy hash when there is none (constant work). */
  verify(hash: string | null | undefined, password: string): Promise<boolean> {
    return this.guarded(async () => {
      try {
        const ok = await argon2.verify(hash || this.dummyHash, password);
        return ok && Boolean(hash);
      } catch {
        return false; // a malformed stored hash is a failed login, not a 500
      }
    });
  }

  private async guarded<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await this.pool.run(task);
    } catch (e) {
      if (e instanceof PoolSaturatedError) {
        throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'Too many sign-ins in progress; retry shortly', { retryAfter: 1 });
      }
      throw e;
    }
  }
}
