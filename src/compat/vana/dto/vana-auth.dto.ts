import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { LenientDto } from 'src/common/pipes/validation.pipe';

/** Vana's LoginRequest: `username` or `email` (both are the email here), password; extras ignored. */
@LenientDto()
export class VanaLoginDto {
  @ApiPropertyOptional({ description: 'The account email (Vana\'s "username or email")' })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  username?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(254) email?: string;
  @ApiProperty() @IsString() @Length(1, 1024) password: string;
  @ApiPropertyOptional({ description: 'Team slug, only when the email exists in several teams (an extension)' })
  @IsOptional()
  @IsString()
  @Length(1, 120)
  team?: string;
}

/** Vana's RefreshTokenRequest. */
@LenientDto()
export class VanaRefreshDto {
  @ApiPropertyOptional({ description: 'Vana sends it; without it the refresh_token cookie is used' })
  @IsOptional()
  @IsString()
  @Length(10, 200)
  refresh_token?: string;
}

export class VanaTokenDto {
  @ApiProperty() access_token: string;
  @ApiProperty() refresh_token: string;
  @ApiProperty({ example: 'bearer' }) token_type: string;
  @ApiProperty({ description: 'Seconds until the access token expires' }) expires_in: number;
}

export class VanaRoleDto {
  @ApiProperty() id: number;
  @ApiProperty() name: string;
  @ApiPropertyOptional() description?: string;
  @ApiProperty() is_active: boolean;
  @ApiProperty({ type: [Object] }) permissions: unknown[];
}

export class VanaUserDto {
  @ApiProperty({ description: "This server's user id (a UUID string, where Vana had an integer)" }) id: string;
  @ApiProperty() email: string;
  @ApiProperty() username: string;
  @ApiProperty() first_name: string;
  @ApiProperty() last_name: string;
  @ApiProperty() full_name: string;
  @ApiProperty() is_active: boolean;
  @ApiProperty() is_verified: boolean;
  @ApiProperty() is_superuser: boolean;
  @ApiProperty({ nullable: true, type: String }) last_login: string | null;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;
  @ApiProperty({ type: [VanaRoleDto] }) @Type(() => VanaRoleDto) roles: VanaRoleDto[];
}

export class VanaAuthResponseDto {
  @ApiProperty({ type: VanaUserDto }) user: VanaUserDto;
  @ApiProperty({ type: VanaTokenDto }) tokens: VanaTokenDto;
}
