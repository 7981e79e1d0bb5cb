import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';

/** Refresh and logout: the refresh token in the body, for clients that do not use the refresh cookie. */
export class RefreshDto {
  @ApiPropertyOptional({ description: 'For clients that do not use the refresh_token cookie' })
  @IsOptional()
  @IsString()
  @Length(10, 200)
  refreshToken?: string;
}
