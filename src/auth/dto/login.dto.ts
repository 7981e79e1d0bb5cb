import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { IsEmailAddress } from 'src/common/validation/is-email-address.decorator';
import { UserResponseDto } from 'src/teams/dto/user-response.dto';

export class LoginDto {
  @ApiProperty({ example: 'ada@example.com' }) @IsEmailAddress() @MaxLength(254) email: string;
  @ApiProperty() @IsString() @Length(1, 1024) password: string;
  @ApiPropertyOptional({ description: 'Team slug; required only when the email exists in several teams' })
  @IsOptional()
  @IsString()
  @Length(1, 120)
  team?: string;
}

export class TokenResponseDto {
  @ApiProperty({ description: 'Short-lived access JWT (HS256); also set as the httpOnly access_token cookie' })
  accessToken: string;
  @ApiProperty({ example: 900, description: 'Seconds until the access token expires' }) expiresIn: number;
  @ApiProperty({
    description: 'Opaque, single-use refresh token (also the httpOnly refresh_token cookie, path /api/auth)',
  })
  refreshToken: string;
  @ApiProperty({ example: 604800 }) refreshExpiresIn: number;
  @ApiProperty({ type: UserResponseDto }) user: UserResponseDto;
}

class MeTeamDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() slug: string;
}

export class MeResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() email: string;
  @ApiProperty() displayName: string;
  @ApiProperty({ enum: ['admin', 'user'] }) role: 'admin' | 'user';
  @ApiProperty({ type: MeTeamDto }) team: MeTeamDto;
}
