import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AccessDenylistService } from 'src/auth/access-denylist.service';
import { AccessTokenService } from 'src/auth/access-token.service';
import { AuthErrors } from 'src/auth/auth.errors';
import { AuthCookieScope, AuthExchange, CANONICAL_COOKIE_SCOPE } from 'src/auth/auth-http';
import { AccountRef, AttemptContext, BruteForceService, NO_ACCOUNT } from 'src/auth/brute-force.service';
import { ChangePasswordDto } from 'src/auth/dto/change-password.dto';
import { LoginDto, MeResponseDto, TokenResponseDto } from 'src/auth/dto/login.dto';
import { RefreshDto } from 'src/auth/dto/refresh.dto';
import { RegisterDto, RegisterResponseDto } from 'src/auth/dto/register.dto';
import { PasswordHasher } from 'src/auth/password-hasher.service';
import { checkPassword } from 'src/auth/password-policy';
import { RefreshTokenRepository } from 'src/auth/refresh-token.repository';
import type { AuthUser } from 'src/common/auth-user';
import { AuditService } from 'src/common/audit/audit.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { User } from 'src/teams/entities/user.entity';
import { TeamsService } from 'src/teams/teams.service';
import { randomToken, sha256Hex } from 'src/teams/token-hash';
import { UsersService } from 'src/teams/users.service';
import { toUserResponse } from 'src/teams/team.mapper';

const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** Registration, login, refresh-token rotation, logout and `me`. */
@Injectable()
export class AuthService implements OnModuleDestroy {
  private readonly logger = new Logger(AuthService.name);
  /** Password rehashes running after their login has answered (see `upgradeHash`). */
  private readonly rehashes = new Set<Promise<void>>();

  constructor(
    private readonly users: UsersService,
    private readonly teams: TeamsService,
    private readonly hasher: PasswordHasher,
    private readonly access: AccessTokenService,
    private readonly refreshTokens: RefreshTokenRepository,
    private readonly denylist: AccessDenylistService,
    private readonly bruteForce: BruteForceService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async register(dto: RegisterDto, http: AuthExchange): Promise<RegisterResponseDto> {
    await this.bruteForce.checkRegister(http.ip);
    const modes = [dto.teamName, dto.inviteToken, dto.teamId].filter((v) => v !== undefined).length;
    if (modes !== 1) throw AuthErrors.exactlyOneJoin();
    const email = normaliseEmail(dto.email);
    const problems = checkPassword(dto.password, email);
    if (problems.length) throw AuthErrors.weakPassword(problems);
    const team = dto.teamId ? await this.teams.findTeam(dto.teamId) : null;
    if (dto.teamId && (!team || !team.isActive || !team.allowOpenSignup)) throw AuthErrors.teamClosed();

    const member = {
      email,
      passwordHash: await this.hasher.hash(dto.password),
      displayName: dto.displayName?.trim() || email.split('@')[0],
    };
    let user: User;
    if (dto.teamName !== undefined) {
      user = (await this.users.createTeamWithAdmin(dto.teamName.trim(), member)).user;
    } else if (dto.inviteToken !== undefined) {
      const joined = await this.users.joinWithInvite(dto.inviteToken, member);
      if (!joined.ok) {
        throw joined.reason === 'duplicate'
          ? AuthErrors.emailTaken()
          : joined.reason === 'email_mismatch'
            ? AuthErrors.inviteEmailMismatch()
            : AuthErrors.invalidInvite();
      }
      user = joined.user;
    } else {
      const created = await this.users.createInTeam(team!.id, member, 'user');
      if (!created) throw AuthErrors.emailTaken();
      user = created;
    }
    void this.audit.record({
      action: 'auth.register',
      teamId: user.teamId,
      userId: user.id,
      ip: http.ip,
      userAgent: http.userAgent,
      metadata: {
        via: dto.teamName !== undefined ? 'teamName' : dto.inviteToken !== undefined ? 'invite' : 'openSignup',
        role: user.role,
      },
    });
    const joined = await this.teams.getTeam(user.teamId);
    return { user: toUserResponse(user), team: { id: joined.id, name: joined.name, slug: joined.slug } };
  }

  /**
   * Constant work whether or not the account exists (a dummy hash is verified when it does not). When the
   * email exists in several teams and no `team` is given, the password is checked against each; only a
   * caller who knows one of them learns that the team must be named. A successful login whose stored hash
   * uses older scrypt parameters upgrades it in the background (`upgradeHash`).
   */
  async login(
    dto: LoginDto,
    http: AuthExchange,
    scope: AuthCookieScope = CANONICAL_COOKIE_SCOPE,
  ): Promise<TokenResponseDto> {
    const ctx: AttemptContext = { ip: http.ip, email: normaliseEmail(dto.email), userAgent: http.userAgent };
    await this.bruteForce.checkLogin(ctx);
    let candidates: User[] = [];
    if (dto.team !== undefined) {
      const team = await this.teams.findBySlug(dto.team.trim());
      if (team) candidates = await this.users.findLoginCandidates(ctx.email, team.id);
    } else {
      candidates = await this.users.findLoginCandidates(ctx.email);
    }

    let matched: User | null = null;
    if (candidates.length <= 1) {
      if (await this.hasher.verify(candidates[0]?.passwordHash, dto.password)) matched = candidates[0];
    } else {
      const results = await Promise.all(candidates.map((c) => this.hasher.verify(c.passwordHash, dto.password)));
      if (results.some(Boolean)) throw AuthErrors.ambiguousTeam();
    }
    const active = matched ? await this.users.findActiveMember(matched.teamId, matched.id) : null;
    if (!active) {
      // The accounts the attempt was against: each of their teams sees it (an email in several teams: all).
      const accounts: AccountRef[] = (matched ? [matched] : candidates).map((u) => ({
        teamId: u.teamId,
        userId: u.id,
      }));
      const reason = matched ? 'inactive' : accounts.length ? 'bad_password' : 'unknown_account';
      for (const account of accounts.length ? accounts : [NO_ACCOUNT]) {
        void this.audit.record({
          action: 'auth.login_failed',
          ...account,
          ip: ctx.ip,
          userAgent: ctx.userAgent,
          metadata: { email: ctx.email, reason },
        });
      }
      const remaining = await this.bruteForce.onFailure(ctx, accounts);
      throw AuthErrors.invalidCredentials(remaining);
    }

    if (matched) this.upgradeHash(matched, dto.password);
    await this.bruteForce.onSuccess(ctx.email);
    active.lastLoginAt = await this.users.recordLogin(active.teamId, active.id);
    const refreshRaw = randomToken();
    const first = await this.refreshTokens.createFamily(
      active.teamId,
      active.id,
      sha256Hex(refreshRaw),
      this.issueMeta(http),
    );
    void this.audit.record({
      action: 'auth.login',
      teamId: active.teamId,
      userId: active.id,
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      metadata: { familyId: first.familyId },
    });
    return this.respondWithTokens(http, active, first.familyId, refreshRaw, scope);
  }

  /** Rotation: every refresh token works once. Presenting a rotated one revokes its whole family. */
  async refresh(
    dto: RefreshDto,
    http: AuthExchange,
    scope: AuthCookieScope = CANONICAL_COOKIE_SCOPE,
  ): Promise<TokenResponseDto> {
    const fromCookie = dto.refreshToken === undefined;
    const raw = dto.refreshToken ?? http.refreshCookie;
    if (!raw) throw AuthErrors.invalidRefresh();
    if (fromCookie && !http.hasAllowedOrigin(this.config)) throw AuthErrors.forbiddenOrigin();
    const childRaw = randomToken();
    const result = await this.refreshTokens.rotate(sha256Hex(raw), sha256Hex(childRaw), this.issueMeta(http));
    if (result.kind === 'reused') {
      await this.endSession(result.token.teamId, result.token.userId, result.token.familyId, 'reuse');
      await this.audit.record({
        action: 'auth.refresh_reuse',
        teamId: result.token.teamId,
        userId: result.token.userId,
        ip: http.ip,
        userAgent: http.userAgent,
        metadata: { familyId: result.token.familyId, tokenId: result.token.id },
      });
      http.clearCookies(this.config, scope);
      throw AuthErrors.refreshReuse();
    }
    if (result.kind !== 'rotated') {
      http.clearCookies(this.config, scope);
      throw AuthErrors.invalidRefresh();
    }
    const user = await this.users.findActiveMember(result.token.teamId, result.token.userId);
    if (!user) {
      await this.endSession(result.token.teamId, result.token.userId, result.token.familyId, 'inactive');
      http.clearCookies(this.config, scope);
      throw AuthErrors.invalidRefresh();
    }
    return this.respondWithTokens(http, user, result.child.familyId, childRaw, scope);
  }

  /** Revokes the session (refresh family) and denylists the presented access token; always 204. */
  async logout(dto: RefreshDto, http: AuthExchange, scope: AuthCookieScope = CANONICAL_COOKIE_SCOPE): Promise<void> {
    const accessRaw = http.accessToken();
    const refreshRaw = dto.refreshToken ?? http.refreshCookie;
    const cookieOnly = http.authSource() !== 'bearer' && dto.refreshToken === undefined;
    if (cookieOnly && (accessRaw || refreshRaw) && !http.hasAllowedOrigin(this.config))
      throw AuthErrors.forbiddenOrigin();
    const claims = accessRaw ? this.access.verify(accessRaw) : null;
    const token = refreshRaw ? await this.refreshTokens.findByHash(sha256Hex(refreshRaw)) : null;
    if (token) await this.endSession(token.teamId, token.userId, token.familyId, 'logout');
    if (claims?.sid && claims.sid !== token?.familyId)
      await this.endSession(claims.teamId, claims.sub, claims.sid, 'logout');
    if (claims) await this.denylist.revoke(claims.jti, claims.exp, claims.teamId, claims.sub);
    http.clearCookies(this.config, scope);
    const userId = claims?.sub ?? token?.userId;
    if (userId) {
      void this.audit.record({
        action: 'auth.logout',
        teamId: claims?.teamId ?? token?.teamId ?? null,
        userId,
        ip: http.ip,
        userAgent: http.userAgent,
      });
    }
  }

  /**
   * Password change by the account itself: the current password is verified (a wrong one counts as a failed
   * sign-in for the brute-force defence, so a stolen access token cannot be used to guess it), the new one
   * must pass the policy and differ from it, and is stored with a compare-and-set on the hash just verified.
   * Every other session of the account is then ended (refresh family revoked, its access tokens denylisted);
   * the session making the request keeps working. Audited as `auth.password_changed`.
   */
  async changePassword(user: AuthUser, dto: ChangePasswordDto, http: AuthExchange): Promise<void> {
    const ctx: AttemptContext = { ip: http.ip, email: user.email, userAgent: http.userAgent };
    await this.bruteForce.checkLogin(ctx);
    const account = (await this.users.findLoginCandidates(user.email, user.teamId)).find((u) => u.id === user.id);
    if (!account) throw AuthErrors.unauthorized();
    if (!(await this.hasher.verify(account.passwordHash, dto.currentPassword))) {
      const remaining = await this.bruteForce.onFailure(ctx, [{ teamId: user.teamId, userId: user.id }]);
      throw AuthErrors.wrongCurrentPassword(remaining);
    }
    const problems = checkPassword(dto.newPassword, account.email, 'newPassword');
    if (problems.length) throw AuthErrors.weakPassword(problems);
    if (dto.newPassword === dto.currentPassword) throw AuthErrors.samePassword();
    const written = await this.users.replacePasswordHash(
      user.teamId,
      user.id,
      account.passwordHash,
      await this.hasher.hash(dto.newPassword),
    );
    if (!written) throw AuthErrors.passwordChangedMeanwhile();
    const accessRaw = http.accessToken();
    const current = accessRaw ? this.access.verify(accessRaw)?.sid : undefined;
    const others = (await this.refreshTokens.listLiveFamilyIds(user.teamId, user.id)).filter((id) => id !== current);
    for (const familyId of others) await this.endSession(user.teamId, user.id, familyId, 'password_change');
    void this.audit.record({
      action: 'auth.password_changed',
      teamId: user.teamId,
      userId: user.id,
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      metadata: { sessionsEnded: others.length },
    });
  }

  /**
   * Ends a session (refresh family) everywhere: its refresh tokens are revoked in the database and every
   * access token issued in it (they carry its id as `sid`) is denylisted at once, on every instance.
   */
  private async endSession(teamId: string, userId: string, familyId: string, reason: string): Promise<void> {
    await this.refreshTokens.revokeFamily(teamId, familyId, reason);
    await this.denylist.revokeSession(familyId, teamId, userId);
  }

  /** Waits for the password rehashes in flight (tests and graceful shutdown). */
  async settleRehashes(): Promise<void> {
    await Promise.all([...this.rehashes]);
  }

  /** Rehashes in flight finish before the database closes. */
  async onModuleDestroy(): Promise<void> {
    await this.settleRehashes();
  }

  async me(user: AuthUser): Promise<MeResponseDto> {
    const [u, team] = await Promise.all([this.users.getUser(user.teamId, user.id), this.teams.getTeam(user.teamId)]);
    return {
      id: u.id,
      email: u.email,
      displayName: u.displayName,
      role: u.role,
      team: { id: team.id, name: team.name, slug: team.slug },
    };
  }

  /**
   * Rehash on login: when `user`'s stored hash was made with other parameters than the current ones, hashes
   * the just-verified password again and stores it with a compare-and-set on the old hash (a password changed
   * meanwhile is never overwritten). Not awaited, so the login does not pay the ~200 ms of a second scrypt;
   * it never fails the login either: any error (a saturated hash pool included) is logged and the old hash,
   * which still verifies, stays until a later login.
   */
  private upgradeHash(user: User, password: string): void {
    const { teamId, id: userId, passwordHash: stored } = user;
    const p = (async () => {
      if (!stored || !this.hasher.needsRehash(stored)) return;
      const next = await this.hasher.hash(password);
      const written = await this.users.replacePasswordHash(teamId, userId, stored, next);
      if (!written) this.logger.debug({ teamId, userId }, 'password rehash skipped: the stored hash changed meanwhile');
    })()
      .catch((err: unknown) =>
        this.logger.warn({ err, teamId, userId }, 'password rehash on login failed; the old hash stays'),
      )
      .finally(() => this.rehashes.delete(p));
    this.rehashes.add(p);
  }

  private issueMeta(http: AuthExchange) {
    return {
      ip: http.ip.slice(0, 64),
      userAgent: http.userAgent,
      expiresAt: new Date(Date.now() + this.config.auth.refreshTtlSec * 1000),
    };
  }

  private respondWithTokens(
    http: AuthExchange,
    user: User,
    familyId: string,
    refreshRaw: string,
    scope: AuthCookieScope,
  ): TokenResponseDto {
    const access = this.access.sign(user, familyId);
    http.setCookies(this.config, access.token, refreshRaw, scope);
    return {
      accessToken: access.token,
      expiresIn: access.expiresIn,
      refreshToken: refreshRaw,
      refreshExpiresIn: this.config.auth.refreshTtlSec,
      user: toUserResponse(user),
    };
  }
}
