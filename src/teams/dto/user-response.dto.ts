import { ApiProperty } from '@nestjs/swagger';
import type { Role } from 'src/common/auth-user';
import type { User } from 'src/teams/entities/user.entity';

/** The contract's `user`: never a password hash. */
export class UserResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'ada@example.com' }) email: string;
  @ApiProperty({ example: 'Ada' }) displayName: string;
  @ApiProperty({ enum: ['admin', 'user'] }) role: Role;
  @ApiProperty({ format: 'uuid' }) teamId: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastLoginAt: string | null;

  static from(u: User): UserResponseDto {
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
}

/** A member as an admin sees it in the members list: the user plus whether the account is active. */
export class MemberResponseDto extends UserResponseDto {
  @ApiProperty() isActive: boolean;

  static fromMember(u: User): MemberResponseDto {
    return { ...UserResponseDto.from(u), isActive: u.isActive };
  }
}

export class MemberListDto {
  @ApiProperty({ type: [MemberResponseDto] }) items: MemberResponseDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Opaque; pass as ?cursor= for the next page' }) nextCursor: string | null;
}
