import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import type { Role } from 'src/common/auth-user';

export class UpdateMemberDto {
  @ApiPropertyOptional({ enum: ['admin', 'user'] }) @IsOptional() @IsIn(['admin', 'user']) role?: Role;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() isActive?: boolean;
}
