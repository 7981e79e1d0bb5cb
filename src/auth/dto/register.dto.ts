import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Length, MaxLength } from 'class-validator';
import { IsEmailAddress } from 'src/common/validation/is-email-address.decorator';
import { UserResponseDto } from 'src/teams/dto/user-response.dto';

/** Exactly one of `teamName` (new team, caller becomes admin), `inviteToken` or `teamId` (open sign-up). */
export class RegisterDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: 254 }) @IsEmailAddress() @MaxLength(254) email: string;
  @ApiProperty({ minLength: 8, maxLength: 128, description: 'Not a common password, not containing the email' })
  @IsString()
  @MaxLength(1024)
  password: string;
  @ApiPropertyOptional({ maxLength: 100 }) @IsOptional() @IsString() @Length(1, 100) displayName?: string;
  @ApiPropertyOptional({ maxLength: 100, description: 'Create a new team named so' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  teamName?: string;
  @ApiPropertyOptional({ description: 'Join with an invite' })
  @IsOptional()
  @IsString()
  @Length(10, 200)
  inviteToken?: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'Join a team that allows open sign-up' })
  @IsOptional()
  @IsUUID()
  teamId?: string;
}

export class RegisteredTeamDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ description: 'Pass as `team` when logging in' }) slug: string;
}

export class RegisterResponseDto {
  @ApiProperty({ type: UserResponseDto }) user: UserResponseDto;
  @ApiProperty({ type: RegisteredTeamDto, description: 'The team joined or created' }) team: RegisteredTeamDto;
}
