import { Inject, Injectable } from '@nestjs/common';
import type { AuthUser, Role } from 'src/common/auth-user';
import { AuditService } from 'src/common/audit/audit.service';
import { ListMembersQueryDto } from 'src/teams/dto/list-members-query.dto';
import { MemberListDto, MemberResponseDto } from 'src/teams/dto/user-response.dto';
import { UpdateMemberDto } from 'src/teams/dto/update-member.dto';
import { Team } from 'src/teams/entities/team.entity';
import { User } from 'src/teams/entities/user.entity';
import { TeamRepository } from 'src/teams/team.repository';
import { TeamErrors } from 'src/teams/teams.errors';
import { sha256Hex } from 'src/teams/token-hash';
import { StampedCache, VersionStamps } from 'src/common/cache/version-stamps';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { InviteJoinResult, NewMember, UserRepository } from 'src/teams/user.repository';
import { mapPage } from 'src/common/pagination/keyset';
import { toMemberResponse } from 'src/teams/team.mapper';

/**
 * Users (members of teams). Lookups other modules may use: `getUser(teamId, userId)`, `findUser(teamId, userId)`.
 * Account creation takes an already computed password hash (hashing belongs to auth).
 */
@Injectable()
export class UsersService {
  /** Active members as authentication reads them on every request, valid while the member's stamp holds (at most CACHE_TTL_MS). */
  private readonly activeMembers: StampedCache<User | null>;

  constructor(
    private readonly users: UserRepository,
    private readonly teams: TeamRepository,
    private readonly audit: AuditService,
    private readonly stamps: VersionStamps,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.activeMembers = new StampedCache<User | null>({ ttlMs: config.cacheTtlMs });
  }

  /** A user of the team, or 404 (another team's user is indistinguishable from a missing one). */
  async getUser(teamId: string, userId: string): Promise<User> {
    const user = await this.users.findById(teamId, userId);
    if (!user) throw TeamErrors.memberNotFound();
    return user;
  }

  findUser(teamId: string, userId: string): Promise<User | null> {
    return this.users.findById(teamId, userId);
  }

  /**
   * The member when the account and its team are both active, else null (authentication, every request).
   * Cached under the member's version stamp, which every change of role or activity bumps, so a
   * demotion or a deactivation holds from the next request on, on every instance (VersionStamps).
   */
  async findActiveMember(teamId: string, userId: string, peeked?: Promise<string | null>): Promise<User | null> {
    const key = `${teamId}:${userId}`;
    const stamp = (await peeked) ?? (await this.stamps.current(memberScope(teamId, userId)));
    const user = await this.activeMembers.get(key, stamp, () => this.users.findActiveForAuth(teamId, userId));
    if (!user) this.activeMembers.forget(key);
    return user;
  }

  /**
   * The member's version stamp if it exists (null: `findActiveMember` reads it again, creating it), read
   * early by the request's guards in one round trip with their other reads (AuthPrefetch). As exact: a
   * cached member is used only if it was loaded under a stamp read after the request arrived. Never rejects.
   */
  peekMemberStamp(teamId: string, userId: string): Promise<string | null> {
    return this.stamps.peek(memberScope(teamId, userId));
  }

  /** Accounts a login may refer to (with password hashes): in one team when its slug is given, else every team. */
  findLoginCandidates(email: string, teamId?: string): Promise<User[]> {
    if (teamId) return this.users.findWithHashByEmail(teamId, email).then((u) => (u ? [u] : []));
    return this.users.findAllWithHashByEmail(email);
  }

  createTeamWithAdmin(teamName: string, member: NewMember): Promise<{ team: Team; user: User }> {
    return this.teams.createWithAdmin(teamName, member);
  }

  /** Returns null when the email is already taken in that team. */
  createInTeam(teamId: string, member: NewMember, role: Role): Promise<User | null> {
    return this.users.create(teamId, member, role);
  }

  joinWithInvite(inviteToken: string, member: NewMember): Promise<InviteJoinResult> {
    return this.users.createFromInvite(sha256Hex(inviteToken), member);
  }

  recordLogin(teamId: string, userId: string): Promise<Date> {
    return this.users.touchLastLogin(teamId, userId);
  }

  /** Stores a re-computed hash only if the stored one is still `expectedOldHash` (see UserRepository). */
  replacePasswordHash(teamId: string, userId: string, expectedOldHash: string, newHash: string): Promise<boolean> {
    return this.users.updatePasswordHash(teamId, userId, expectedOldHash, newHash);
  }

  async listMembers(user: AuthUser, q: ListMembersQueryDto): Promise<MemberListDto> {
    const page = await this.users.listForTeam(user.teamId, { limit: q.limit ?? 20, cursor: q.cursor });
    return mapPage(page, toMemberResponse);
  }

  async updateMember(user: AuthUser, userId: string, dto: UpdateMemberDto): Promise<MemberResponseDto> {
    const result = await this.users.updateMember(user.teamId, userId, dto);
    await this.stamps.bump(memberScope(user.teamId, userId));
    if (!result.ok) throw result.reason === 'last_admin' ? TeamErrors.lastAdmin() : TeamErrors.memberNotFound();
    void this.audit.record({
      action: 'team.member_update',
      teamId: user.teamId,
      userId: user.id,
      metadata: { targetUserId: userId, ...dto },
    });
    return toMemberResponse(result.user);
  }
}

/** The version-stamp scope of one member's role and activity. */
const memberScope = (teamId: string, userId: string) => `member:${teamId}:${userId}`;
