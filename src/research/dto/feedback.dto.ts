import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export class CreateFeedbackDto {
  @ApiPropertyOptional({ description: 'A research session of the caller (404 otherwise)' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  sessionId?: string;

  @ApiPropertyOptional({
    description:
      'The id of a message of that session, or (without sessionId) of one of the ' +
      "caller's sessions; 404 when the caller has no such message, 400 when several of their sessions hold it and no sessionId is given",
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/)
  messageId?: string;

  @ApiProperty({ description: 'Integer: -1, 0, 1 (thumbs) or 1..5 (stars)', minimum: -1, maximum: 5 })
  @IsInt({ message: 'rating must be an integer: -1, 0 or 1 (thumbs) or 1..5 (stars)' })
  @Min(-1, { message: 'rating must be an integer: -1, 0 or 1 (thumbs) or 1..5 (stars)' })
  @Max(5, { message: 'rating must be an integer: -1, 0 or 1 (thumbs) or 1..5 (stars)' })
  rating: number;

  @ApiPropertyOptional({ maxLength: 5000 })
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  comment?: string;
}

export class FeedbackResponseDto {
  @ApiProperty() success: boolean;
  @ApiProperty() id: string;
  @ApiProperty({ nullable: true, type: String }) sessionId: string | null;
  @ApiProperty({ nullable: true, type: String }) messageId: string | null;
  @ApiProperty() rating: number;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

/** Feedback on one session (the path names it). */
export class SessionFeedbackDto extends OmitType(CreateFeedbackDto, ['sessionId'] as const) {}
