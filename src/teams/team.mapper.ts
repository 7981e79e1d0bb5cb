import type { InviteResponseDto } from 'src/teams/dto/create-invite.dto';
import type { TeamResponseDto } from 'src/teams/dto/team-response.dto';
import type { MemberResponseDto, UserResponseDto } from 'src/teams/dto/user-response.dto';
import type { Invite } from 'src/teams/entities/invite.entity';
import type { Team } from 'src/teams/entities/team.entity';
import type { User } from 'src/teams/entities/user.entity';

export function toTeamResponse(t: Team): TeamResponseDto {
  return {
    id: t.id,
    name: t.name,
    slug: t.slug,
    allowOpenSignup: t.allowOpenSignup,
    createdAt: t.createdAt.toISOString(),
  };
}

/** The contract's `user`: never a password hash. */
export function toUserResponse(u: User): UserResponseDto {
  return {
    id: u.id,
    email: u.email,
    displayName: u.displayName,
    role: u.role,
    teamId: u.teamId,
    createdAt: u.createdAt.toISOString(),
    lastLoginAt: u.lastLoginAt ? new Date(u.lastLoginAt).toISOString() : null,
  };
}

/** A member as an admin sees it in the members list: the user plus whether the account is active. */
export function toMemberResponse(u: User): MemberResponseDto {
  return { ...toUserResponse(u), isActive: u.isActive };
}

/** A new invite with its token: the only time the token is shown (only its hash is stored). */
export function toInviteResponse(invite: Invite, token: string): InviteResponseDto {
  return { id: invite.id, token, role: invite.role, email: invite.email, expiresAt: invite.expiresAt.toISOString() };
}
