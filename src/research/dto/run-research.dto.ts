import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Length, MaxLength } from 'class-validator';

export class RunResearchDto {
  @ApiProperty({ minLength: 1, maxLength: 2000, example: 'What are the trade-offs of small modular nuclear reactors?' })
  @IsString() @Length(1, 2000)
  query: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Free-form preferences, stored with the session' })
  @IsOptional() @IsObject()
  preferences?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Sent by Vana front ends; ignored (the path names the session)' })
  @IsOptional() @IsString() @MaxLength(100)
  session_id?: string;

  @ApiPropertyOptional({ description: 'Sent by Vana front ends; ignored (the caller is the token\'s user)' })
  @IsOptional() @IsString() @MaxLength(100)
  user_id?: string;
}

export class RunResearchResponseDto {
  @ApiProperty() success: boolean;
  @ApiProperty() session_id: string;
  @ApiProperty() message: string;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
}
