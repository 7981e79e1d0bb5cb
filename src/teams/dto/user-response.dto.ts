import { ApiProperty } from '@nestjs/swagger';
import type { Role } from 'src/common/auth-user';

/** The contract's `user`: never a password hash. */
export class UserResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'ada@example.com' }) email: string;
  @ApiProperty({ example: 'Ada' }) displayName: string;
  @ApiProperty({ enum: ['admin', 'user'] }) role: Role;
  @ApiProperty({ format: 'uuid' }) teamId: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastLoginAt: string | null;
}

/** A member as an admin sees it in the members list: the user plus whether the account is active. */
export class MemberResponseDto extends UserResponseDto {
  @ApiProperty() isActive: boolean;
}

export class MemberListDto {
  @ApiProperty({ type: [MemberResponseDto] }) items: MemberResponseDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Opaque; pass as ?cursor= for the next page' }) nextCursor:
    string | null;
}
