import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

/** `POST /api/auth/password`: the current password and the new one (checked against the password policy). */
export class ChangePasswordDto {
  @ApiProperty({ description: 'The password the account has now' })
  @IsString()
  @Length(1, 1024)
  currentPassword: string;
  @ApiProperty({ description: 'The new password: 8–128 characters, not a common password, not containing the email' })
  @IsString()
  @Length(1, 1024)
  newPassword: string;
}
