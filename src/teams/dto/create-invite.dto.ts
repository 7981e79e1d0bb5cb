import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, MaxLength } from 'class-validator';
import { IsEmailAddress } from 'src/common/validation/is-email-address.decorator';
import type { Role } from 'src/common/auth-user';

export class CreateInviteDto {
  @ApiPropertyOptional({ description: 'When set, only this email can use the invite' })
  @IsOptional()
  @IsEmailAddress()
  @MaxLength(254)
  email?: string;

  @ApiProperty({ enum: ['admin', 'user'] }) @IsIn(['admin', 'user']) role: Role;
}

export class InviteResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ description: 'Shown once; pass as `inviteToken` to POST /api/auth/register' }) token: string;
  @ApiProperty({ enum: ['admin', 'user'] }) role: Role;
  @ApiProperty({ type: String, nullable: true }) email: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) expiresAt: string;
}
