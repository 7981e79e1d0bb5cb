import { Inject, Injectable } from '@nestjs/common';
import type { AuthUser } from 'src/common/auth-user';
import { AuditService } from 'src/common/audit/audit.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { CreateInviteDto, InviteResponseDto } from 'src/teams/dto/create-invite.dto';
import { TeamResponseDto } from 'src/teams/dto/team-response.dto';
import { UpdateTeamDto } from 'src/teams/dto/update-team.dto';
import { Team } from 'src/teams/entities/team.entity';
import { InviteRepository } from 'src/teams/invite.repository';
import { NewAdmin, TeamRepository } from 'src/teams/team.repository';
import { User } from 'src/teams/entities/user.entity';
import { TeamErrors } from 'src/teams/teams.errors';
import { randomToken, sha256Hex } from 'src/teams/token-hash';
import { toInviteResponse, toTeamResponse } from 'src/teams/team.mapper';

/**
 * Teams: the caller's own team only (the id always comes from the authenticated user, never the URL).
 * Other modules may use `getTeam` / `findTeam` / `findBySlug`.
 */
@Injectable()
export class TeamsService {
  constructor(
    private readonly teams: TeamRepository,
    private readonly invites: InviteRepository,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The team, or 404. */
  async getTeam(teamId: string): Promise<Team> {
    const team = await this.teams.findById(teamId);
    if (!team) throw TeamErrors.teamNotFound();
    return team;
  }

  findTeam(teamId: string): Promise<Team | null> {
    return this.teams.findById(teamId);
  }

  findBySlug(slug: string): Promise<Team | null> {
    return this.teams.findBySlug(slug);
  }

  hasAnyTeam(): Promise<boolean> {
    return this.teams.hasAny();
  }

  /** First start only: the default team and its admin, unless any team exists (safe across instances). */
  bootstrapFirstTeam(name: string, admin: NewAdmin): Promise<{ team: Team; user: User } | null> {
    return this.teams.createFirstTeamWithAdmin(name, admin);
  }

  async getCurrent(user: AuthUser): Promise<TeamResponseDto> {
    return toTeamResponse(await this.getTeam(user.teamId));
  }

  async updateCurrent(user: AuthUser, dto: UpdateTeamDto): Promise<TeamResponseDto> {
    const team = await this.teams.update(user.teamId, { ...dto });
    if (!team) throw TeamErrors.teamNotFound();
    void this.audit.record({
      action: 'team.update',
      teamId: user.teamId,
      userId: user.id,
      metadata: { fields: Object.keys(dto) },
    });
    return toTeamResponse(team);
  }

  /** Creates a single-use invite; the token is returned here once and stored only hashed. */
  async invite(user: AuthUser, dto: CreateInviteDto): Promise<InviteResponseDto> {
    const token = randomToken();
    const expiresAt = new Date(Date.now() + this.config.auth.inviteTtlSec * 1000);
    const team = await this.getTeam(user.teamId);
    const invite = await this.invites.create(team.id, {
      tokenHash: sha256Hex(token),
      email: dto.email?.trim().toLowerCase() ?? null,
      role: dto.role,
      createdBy: user.id,
      expiresAt,
    });
    void this.audit.record({
      action: 'team.invite',
      teamId: user.teamId,
      userId: user.id,
      metadata: { inviteId: invite.id, role: dto.role },
    });
    return toInviteResponse(invite, token);
  }
}
