import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsObject, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import type { ResearchStatus } from 'src/research/entities/research-session.entity';
import type { ResearchMessageRole } from 'src/research/entities/research-message.entity';
import { CursorQueryDto } from 'src/common/pagination/cursor-query.dto';

export class ListSessionsQueryDto extends CursorQueryDto {}

export class UpdateSessionDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 200 })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  title?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Replaces the session metadata' })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

export class AddSessionMessageDto {
  @ApiPropertyOptional({
    description: "The client's message id; the same id twice stores one message. Generated when absent.",
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, { message: 'id must be 1-100 letters, digits or "-_.:"' })
  id?: string;

  @ApiProperty({ enum: ['user', 'assistant', 'system'] })
  @IsIn(['user', 'assistant', 'system'])
  role: ResearchMessageRole;

  @ApiProperty({ maxLength: 200000 })
  @IsString()
  @MaxLength(200000)
  content: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'When the client created it (default: now)' })
  @IsOptional()
  @IsISO8601()
  timestamp?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

export class SessionMessageDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['user', 'assistant', 'system'] }) role: ResearchMessageRole;
  @ApiProperty() content: string;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: Record<string, unknown>;
}

export class ResearchErrorDto {
  @ApiProperty() code: string;
  @ApiProperty() message: string;
}

export class ResearchSessionSummaryDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['pending', 'running', 'completed', 'failed', 'cancelled'] }) status: ResearchStatus;
  @ApiProperty() title: string;
  @ApiProperty() query: string;
  @ApiProperty({ minimum: 0, maximum: 1 }) progress: number;
  @ApiProperty({ nullable: true, type: String }) currentPhase: string | null;
  @ApiProperty({ nullable: true, type: ResearchErrorDto }) error: ResearchErrorDto | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class ResearchSessionDto extends ResearchSessionSummaryDto {
  @ApiProperty({ nullable: true, type: String, description: 'Markdown' }) finalReport: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) preferences: Record<string, unknown>;
  @ApiProperty({ type: [SessionMessageDto] }) messages: SessionMessageDto[];
}

export class ResearchSessionListDto {
  @ApiProperty({ type: [ResearchSessionSummaryDto] }) items: ResearchSessionSummaryDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}
