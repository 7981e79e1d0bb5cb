import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Length, Matches } from 'class-validator';

/** POST /api/research/sessions (a new session) and POST /api/research/sessions/:id/runs (a follow-up question). */
export class CreateResearchSessionDto {
  @ApiPropertyOptional({
    description:
      'The client\'s id for a new session: a UUID or 1-100 letters, digits, "-", "_" (default: a UUID). Ignored on /runs.',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, {
    message: 'id must be a UUID or 1-100 characters of letters, digits, "-" and "_"',
  })
  id?: string;

  @ApiProperty({ minLength: 1, maxLength: 2000, example: 'What are the trade-offs of small modular nuclear reactors?' })
  @IsString()
  @Length(1, 2000)
  query: string;

  @ApiPropertyOptional({
    description: "The client's id for the stored user message holding the query (default msg_<uuid>_user)",
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, { message: 'messageId must be 1-100 letters, digits or "-_.:"' })
  messageId?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Free-form preferences, stored with the session',
  })
  @IsOptional()
  @IsObject()
  preferences?: Record<string, unknown>;
}

export class CancelResearchResponseDto {
  @ApiProperty() id: string;
  @ApiProperty({ description: 'A run was going on and was asked to stop' }) cancelled: boolean;
  @ApiProperty({
    enum: ['pending', 'running', 'completed', 'failed', 'cancelled'],
    description: 'The status when the request was handled',
  })
  status: string;
}
