import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class UsageDto {
  @ApiProperty({ type: 'integer', minimum: 0 }) promptTokens: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) completionTokens: number;
}

export class MessageErrorDto {
  @ApiProperty({ example: 'UPSTREAM_FAILED' }) code: string;
  @ApiProperty() message: string;
}

export class ToolCallDto {
  @ApiProperty({ example: 'call_abc' }) id: string;
  @ApiProperty({ example: 'get_weather' }) name: string;
  @ApiProperty({ example: '{"city":"Paris"}', description: 'The arguments as JSON text' }) arguments: string;
}

export class RoutingDto {
  @ApiProperty({ format: 'uuid' }) routerAgentId: string;
  @ApiProperty({ format: 'uuid', description: 'The agent that answered' }) routedTo: string;
  @ApiProperty() routedToName: string;
  @ApiProperty() reason: string;
  @ApiProperty({
    enum: ['model', 'default'],
    description: "model: the router's model chose; default: the fallback candidate",
  })
  method: 'model' | 'default';
}

export class ChatResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) agentId: string;
  @ApiProperty() title: string;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { tags: ['work'], priority: 'high' } })
  metadata: Record<string, unknown>;
  @ApiProperty() isArchived: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class MessageResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) chatId: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) parentId: string | null;
  @ApiProperty({ enum: ['user', 'assistant', 'system'] }) role: string;
  @ApiProperty() content: string;
  @ApiProperty({ enum: ['complete', 'streaming', 'cancelled', 'error'] }) status: string;
  @ApiPropertyOptional({ type: MessageErrorDto }) error?: { code: string; message: string };
  @ApiPropertyOptional() model?: string;
  @ApiPropertyOptional({ type: UsageDto }) usage?: UsageDto;
  @ApiPropertyOptional({ type: [ToolCallDto], description: 'Tool calls the model made (assistant messages)' })
  toolCalls?: ToolCallDto[];
  @ApiPropertyOptional({ type: RoutingDto, description: 'When the agent is a router: which agent answered and why' })
  routing?: RoutingDto;
  @ApiPropertyOptional({ description: 'The id given by the client when it sent the message' }) clientMessageId?: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class ChatDetailDto extends ChatResponseDto {
  @ApiProperty({ type: [MessageResponseDto], description: 'The current branch, oldest first' })
  messages: MessageResponseDto[];
}

export class ChatListDto {
  @ApiProperty({ type: [ChatResponseDto] }) items: ChatResponseDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class ChatTreeDto {
  @ApiProperty({ format: 'uuid' }) chatId: string;
  @ApiProperty({ type: String, nullable: true, description: 'Leaf of the current branch (the most recent leaf)' })
  currentLeafId: string | null;
  @ApiProperty({
    type: [MessageResponseDto],
    description: 'Every message, parents before children, siblings oldest first',
  })
  items: MessageResponseDto[];
}

export class SendMessageResultDto {
  @ApiProperty({ type: MessageResponseDto, nullable: true }) userMessage: MessageResponseDto | null;
  @ApiProperty({ type: MessageResponseDto }) assistantMessage: MessageResponseDto;
  @ApiProperty({ example: '/api/chats/…/messages/…/stream' }) streamUrl: string;
}

export class SearchHitDto {
  @ApiProperty({ format: 'uuid' }) chatId: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'null when the chat title matched' })
  messageId: string | null;
  @ApiProperty({ description: 'Matched words wrapped in <mark>…</mark>' }) snippet: string;
  @ApiProperty() rank: number;
}

export class SearchResultDto {
  @ApiProperty({ type: [SearchHitDto] }) items: SearchHitDto[];
}

export class TeamUsageDto {
  @ApiProperty({ example: '2026-11' }) period: string;
  @ApiProperty({ format: 'date-time' }) periodStart: string;
  @ApiProperty({ format: 'date-time' }) periodEnd: string;
  @ApiProperty({ type: 'integer', minimum: 0 }) promptTokens: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) completionTokens: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) totalTokens: number;
  @ApiProperty({ type: Number, nullable: true, description: 'null: unlimited' }) budget: number | null;
  @ApiProperty({ type: Number, nullable: true }) remaining: number | null;
}
