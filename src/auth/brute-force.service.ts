import { Inject, Injectable } from '@nestjs/common';
import { AuthCounterStore } from 'src/auth/auth-counter.store';
import { AuthErrors } from 'src/auth/auth.errors';
import { AuditService } from 'src/common/audit/audit.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';

type Step = { failures: number; seconds: number };

/** The lock (seconds) the `count`-th failure earns, or 0: exactly at a step, and at every failure past the last. */
export function lockSecondsFor(count: number, steps: Step[]): number {
  const last = steps[steps.length - 1];
  if (!last) return 0;
  if (count > last.failures) return last.seconds;
  return steps.find((s) => s.failures === count)?.seconds ?? 0;
}

/** Failures left before the next lock (for the warning stage), or undefined when none is near. */
function attemptsBeforeLock(count: number, steps: Step[]): number | undefined {
  const next = steps.find((s) => s.failures > count);
  if (!next) return undefined;
  const left = next.failures - count;
  return left <= 2 ? left : undefined;
}

/** An account a login attempt was against (its team's admins see the attempt in their audit trail). */
export interface AccountRef {
  teamId: string | null;
  userId: string | null;
}
/** No account has the email: the event belongs to no team (it is in the table and the log, in no team's trail). */
export const NO_ACCOUNT: AccountRef = { teamId: null, userId: null };

export interface AttemptContext {
  ip: string;
  email: string;
  userAgent: string | null;
}

/**
 * Brute-force defence for login and registration: per-IP fixed-window rate limits, and progressive
 * lock-outs per account (email) and per client IP (warning → temporary → extended → long-term, see
 * AUTH_LOCKOUT_STEPS / AUTH_IP_LOCKOUT_STEPS). IPs in AUTH_LOCKOUT_ALLOWLIST are never locked out.
 */
@Injectable()
export class BruteForceService {
  constructor(
    private readonly store: AuthCounterStore,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async checkRegister(ip: string): Promise<void> {
    await this.rateLimit(`register:${ip}`, this.config.auth.registerRateLimit);
  }

  /** Before a password is even looked at: rate limit, then any lock on the IP or the account. */
  async checkLogin(ctx: AttemptContext): Promise<void> {
    await this.rateLimit(`login:${ctx.ip}`, this.config.auth.loginRateLimit);
    if (this.allowlisted(ctx.ip)) return;
    const [ip, account] = await Promise.all([
      this.store.lockedFor(ipKey(ctx.ip)),
      this.store.lockedFor(accountKey(ctx.email)),
    ]);
    const left = Math.max(ip, account);
    if (left > 0) throw AuthErrors.lockedOut(left);
  }

  /**
   * Counts a failed login. Throws the lock-out (429) when this failure earns one; otherwise returns how many
   * attempts remain before the next lock when it is near (the warning stage).
   */
  async onFailure(ctx: AttemptContext, accounts: AccountRef[]): Promise<number | undefined> {
    if (this.allowlisted(ctx.ip)) return undefined;
    const window = this.config.auth.lockoutWindowSec;
    const [accountFailures, ipFailures] = await Promise.all([
      this.store.addFailure(accountKey(ctx.email), window),
      this.store.addFailure(ipKey(ctx.ip), window),
    ]);
    const accountLock = lockSecondsFor(accountFailures, this.config.auth.lockoutSteps);
    const ipLock = lockSecondsFor(ipFailures, this.config.auth.ipLockoutSteps);
    if (accountLock) await this.lock('account', accountKey(ctx.email), accountLock, accountFailures, ctx, accounts);
    if (ipLock) await this.lock('ip', ipKey(ctx.ip), ipLock, ipFailures, ctx, accounts);
    if (accountLock || ipLock) throw AuthErrors.lockedOut(Math.max(accountLock, ipLock));
    const a = attemptsBeforeLock(accountFailures, this.config.auth.lockoutSteps);
    const b = attemptsBeforeLock(ipFailures, this.config.auth.ipLockoutSteps);
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  /** A successful login clears the account's failures (not the IP's: one valid account must not launder them). */
  async onSuccess(email: string): Promise<void> {
    await this.store.reset(accountKey(email));
  }

  private allowlisted(ip: string): boolean {
    const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
    return this.config.auth.lockoutAllowlist.includes(ip) || this.config.auth.lockoutAllowlist.includes(plain);
  }

  private async rateLimit(key: string, limit: number): Promise<void> {
    const { count, ttlSec } = await this.store.hitFixed(key, 60);
    if (count > limit) throw AuthErrors.rateLimited(ttlSec);
  }

  private async lock(
    scope: 'account' | 'ip',
    key: string,
    seconds: number,
    failures: number,
    ctx: AttemptContext,
    accounts: AccountRef[],
  ): Promise<void> {
    await this.store.lock(key, seconds);
    // One row per team whose account the failing attempts were against (none known: one row without a team).
    const metadata = { scope, failures, lockSeconds: seconds, email: ctx.email };
    await Promise.all(
      (accounts.length ? accounts : [NO_ACCOUNT]).map((a) =>
        this.audit.record({ action: 'auth.lockout', ...a, ip: ctx.ip, userAgent: ctx.userAgent, metadata }),
      ),
    );
  }
}

const accountKey = (email: string) => `acct:${email.trim().toLowerCase()}`;
const ipKey = (ip: string) => `ip:${ip}`;
