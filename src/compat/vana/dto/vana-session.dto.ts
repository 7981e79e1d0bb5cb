import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** Vana's ChatMessage. */
export class VanaMessageDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['user', 'assistant', 'system'] }) role: string;
  @ApiProperty() content: string;
  @ApiProperty() timestamp: string;
  @ApiProperty() sessionId: string;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) metadata: Record<string, unknown> | null;
}

/** Vana's SessionSummary (snake_case). */
export class VanaSessionSummaryDto {
  @ApiProperty() id: string;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;
  @ApiProperty({ description: 'pending | running | completed | error (failed) | cancelled' }) status: string;
  @ApiProperty({ nullable: true, type: String }) title: string | null;
  @ApiProperty({ description: "This server's user id (a UUID string)" }) user_id: string;
  @ApiProperty({ nullable: true, type: Number }) progress: number | null;
  @ApiProperty({ nullable: true, type: String }) current_phase: string | null;
  @ApiProperty({ nullable: true, type: String }) final_report: string | null;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
}

export class VanaSessionDetailDto extends VanaSessionSummaryDto {
  @ApiProperty({ type: [VanaMessageDto] }) messages: VanaMessageDto[];
  @ApiProperty() authenticated: boolean;
}

export class VanaSessionListDto {
  @ApiProperty({ type: [VanaSessionSummaryDto] }) sessions: VanaSessionSummaryDto[];
  @ApiProperty() count: number;
  @ApiProperty() timestamp: string;
  @ApiProperty() authenticated: boolean;
}

export class VanaDeleteResponseDto {
  @ApiProperty() success: boolean;
  @ApiProperty() message: string;
}

/** Vana's MessageOperationResponse. */
export class VanaMessageOperationDto {
  @ApiProperty() success: boolean;
  @ApiProperty() message_id: string;
  @ApiProperty() session_id: string;
  @ApiProperty({ enum: ['edit', 'delete', 'regenerate'] }) operation: string;
  @ApiProperty() timestamp: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) data?: Record<string, unknown>;
}

/** Vana's MessageFeedbackResponse. */
export class VanaMessageFeedbackResponseDto {
  @ApiProperty() success: boolean;
  @ApiProperty() feedback_id: string;
  @ApiProperty() message_id: string;
  @ApiProperty() session_id: string;
  @ApiProperty() timestamp: string;
}

/** FastAPI's error body, which Vana's client parses (VanaExceptionFilter): `{detail}`. */
export class VanaErrorBodyDto {
  @ApiProperty({ example: 'Research session not found' }) detail: string;
}
