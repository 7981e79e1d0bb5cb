import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AuthCounterRepository } from 'src/auth/auth-counter.repository';
import { RefreshTokenRepository } from 'src/auth/refresh-token.repository';
import { RevokedAccessTokenRepository } from 'src/auth/revoked-access-token.repository';

const EVERY_MS = 10 * 60 * 1000;
/** Rotated/expired refresh tokens are kept a while after expiry so that a late re-use is still recognised. */
const REFRESH_GRACE_MS = 24 * 3600 * 1000;

/** Deletes expired denylist entries, brute-force counters and refresh tokens (database mode tables). */
@Injectable()
export class AuthHousekeepingService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AuthHousekeepingService.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly denylist: RevokedAccessTokenRepository,
    private readonly counters: AuthCounterRepository,
    private readonly refresh: RefreshTokenRepository,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.sweep(), EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async sweep(): Promise<void> {
    try {
      await this.denylist.deleteExpired();
      await this.counters.deleteExpired();
      await this.refresh.deleteExpired(new Date(Date.now() - REFRESH_GRACE_MS));
    } catch (err) {
      this.logger.warn({ err }, 'auth housekeeping failed');
    }
  }
}
