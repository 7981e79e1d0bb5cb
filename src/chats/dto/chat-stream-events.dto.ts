import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { RoutingDto, ToolCallDto, UsageDto } from 'src/chats/dto/chat-responses.dto';
import type { SseEventSpec } from 'src/common/openapi/api-event-stream.decorator';

/** `data` of a chat stream's events (src/chats/chat-stream-events.ts), for the OpenAPI document. */
export class ChatStatusEventDataDto {
  @ApiProperty({ example: 'Sending request...' }) description: string;
  @ApiProperty({ enum: ['info', 'warning'] }) level: 'info' | 'warning';
  @ApiProperty() done: boolean;
  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true }) userMessageId?: string | null;
  @ApiPropertyOptional({ format: 'uuid' }) assistantMessageId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) agentId?: string;
  @ApiPropertyOptional() model?: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'Router agents: the agent that answers' }) routedTo?: string;
  @ApiPropertyOptional({ description: 'Router agents: why that agent' }) reason?: string;
  @ApiPropertyOptional({ type: RoutingDto, description: 'Router agents: the whole decision (stored on the message)' })
  routing?: RoutingDto;
}

export class ChatMessageEventDataDto {
  @ApiProperty({ description: 'A content delta: append it to what came before' }) content: string;
}

export class ChatDoneEventDataDto {
  @ApiProperty({ example: 'Stream completed' }) message: string;
  @ApiProperty({ format: 'uuid' }) messageId: string;
  @ApiProperty({ enum: ['complete', 'cancelled'] }) status: 'complete' | 'cancelled';
  @ApiProperty({ type: UsageDto, nullable: true }) usage: UsageDto | null;
}

export class ChatErrorEventDataDto {
  @ApiProperty({ example: 'UPSTREAM_FAILED' }) code: string;
  @ApiProperty() message: string;
  @ApiProperty({ format: 'uuid' }) messageId: string;
}

export const CHAT_STREAM_EVENTS: SseEventSpec[] = [
  { event: 'status', data: ChatStatusEventDataDto, description: 'Progress of the request (first event of a stream)' },
  { event: 'message', data: ChatMessageEventDataDto, description: 'A content delta' },
  {
    event: 'tool_call',
    data: ToolCallDto,
    description:
      'A tool call of the model; `arguments` is the JSON text so far (several events per call id, the last one complete)',
  },
  { event: 'done', data: ChatDoneEventDataDto, description: 'Terminal: the reply is complete (or was cancelled)' },
  { event: 'error', data: ChatErrorEventDataDto, description: 'Terminal: generation failed' },
];

export const CHAT_STREAM_DOC =
  'The reply stream. Each event has `id: <offset>-<seq>`, `event: <type>` and one `data:` line holding `{"type","data"}`; ' +
  '`: ping` comment lines keep it open; it ends after `done` or `error`. Resume with Last-Event-ID on GET …/stream.';
