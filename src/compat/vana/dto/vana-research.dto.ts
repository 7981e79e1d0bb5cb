import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { LenientDto } from 'src/common/pipes/validation.pipe';

/** POST /api/run_sse/:id: the client sends `{query, message}`; Vana reads `query`, else `message`. Extras ignored. */
@LenientDto()
export class VanaRunDto {
  @ApiPropertyOptional({ maxLength: 2000 }) @IsOptional() @IsString() @MaxLength(2000) query?: string;
  @ApiPropertyOptional({ maxLength: 2000, description: 'Used when query is absent' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  message?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) @IsOptional() @IsObject() preferences?: Record<
    string,
    unknown
  >;
}

export class VanaResearchResponseDto {
  @ApiProperty() success: boolean;
  @ApiProperty() session_id: string;
  @ApiProperty() message: string;
  @ApiProperty() timestamp: string;
}

/** Vana's `/agent_network_history?limit=` (default 50). */
@LenientDto()
export class VanaHistoryQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

export class VanaHistoryDto {
  @ApiProperty({ type: [Object] }) events: Array<Record<string, unknown>>;
  @ApiProperty() authenticated: boolean;
  @ApiProperty() user_id: string;
  @ApiProperty() timestamp: string;
}

/**
 * POST /feedback: the client's `{type, message, rating?, metadata?}` and Vana backend's
 * `{score, text?, invocation_id}` (invocation_id: one of the caller's sessions).
 */
@LenientDto()
export class VanaFeedbackDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) type?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(5000) message?: string;
  @ApiPropertyOptional({ minimum: -1, maximum: 5 }) @IsOptional() @IsNumber() @Min(-1) @Max(5) rating?: number;
  @ApiPropertyOptional({ minimum: -1, maximum: 5 }) @IsOptional() @IsNumber() @Min(-1) @Max(5) score?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(5000) text?: string;
  @ApiPropertyOptional({ description: 'A session of the caller' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  invocation_id?: string;
}

export class VanaStatusDto {
  @ApiProperty({ example: 'success' }) status: string;
}

/** PUT /api/sessions/:id: `title` is applied; `status` is accepted and ignored (the server owns a session's status). */
@LenientDto()
export class VanaUpdateSessionDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) title?: string;
  @ApiPropertyOptional({ description: 'Accepted, ignored' }) @IsOptional() @IsString() @MaxLength(50) status?: string;
}

/** POST /api/sessions/:id/messages: Vana's SessionMessagePayload / the client's ChatMessage (its `sessionId` is ignored). */
@LenientDto()
export class VanaAddMessageDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/) id?: string;
  @ApiPropertyOptional({ enum: ['user', 'assistant', 'system'], default: 'assistant' })
  @IsOptional()
  @IsIn(['user', 'assistant', 'system'])
  role?: 'user' | 'assistant' | 'system';
  @ApiProperty() @IsString() @MaxLength(200000) content: string;
  @ApiPropertyOptional() @IsOptional() @IsISO8601() timestamp?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) @IsOptional() @IsObject() metadata?: Record<
    string,
    unknown
  >;
}

/** PUT /api/messages/:id: Vana's MessageEditRequest. */
@LenientDto()
export class VanaEditMessageDto {
  @ApiProperty({ minLength: 1, maxLength: 10000 })
  @IsString()
  @MaxLength(10000)
  @Matches(/\S/, { message: 'content must not be empty' })
  content: string;
  @ApiPropertyOptional({ default: true }) @IsOptional() @IsBoolean() trigger_regeneration?: boolean;
}

/** POST /api/messages/:id/feedback: Vana's MessageFeedbackRequest. */
@LenientDto()
export class VanaMessageFeedbackDto {
  @ApiProperty({ enum: ['upvote', 'downvote'] }) @IsIn(['upvote', 'downvote']) feedback_type: 'upvote' | 'downvote';
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(5000) reason?: string;
}

/** POST /api/messages/:id/regenerate: Vana's MessageRegenerateRequest (its fields are accepted, ignored). */
@LenientDto()
export class VanaRegenerateDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(5000) context?: string;
}
