import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Length,
  MaxLength,
  ValidateNested,
} from 'class-validator';

/** Canvalo's `Message` (history item). `id` and `timestamp` are accepted and not used. */
export class CanvaloHistoryMessageDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) id?: string;
  @ApiProperty() @IsString() @MaxLength(100000) content: string;
  @ApiProperty({ enum: ['user', 'assistant'] }) @IsIn(['user', 'assistant']) role: 'user' | 'assistant';
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) timestamp?: string;
  @ApiPropertyOptional({ type: String, nullable: true }) @IsOptional() @IsString() @MaxLength(100) agent_type?:
    string | null;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown> | null;
}

/** Canvalo's `ChatRequest`: POST /compat/canvalo/api/chat/stream. */
export class CanvaloChatRequestDto {
  @ApiProperty({ minLength: 1, maxLength: 10000 }) @IsString() @Length(1, 10000) message: string;
  @ApiProperty({
    description:
      'A conversation id from POST /api/conversations (the exchange is stored there), or any other string (nothing stored)',
  })
  @IsString()
  @Length(1, 200)
  conversation_id: string;
  @ApiProperty() @IsString() @Length(1, 200) user_id: string;
  @ApiPropertyOptional({ type: [CanvaloHistoryMessageDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(200)
  @ValidateNested({ each: true })
  @Type(() => CanvaloHistoryMessageDto)
  history?: CanvaloHistoryMessageDto[];
}

/** Canvalo's `ConversationCreate`. */
export class CanvaloConversationCreateDto {
  @ApiProperty() @IsString() @Length(1, 200) user_id: string;
  @ApiPropertyOptional({ type: String, nullable: true }) @IsOptional() @IsString() @MaxLength(200) title?:
    string | null;
}

/** `?user_id=` of the conversation routes (Canvalo scopes conversations by its end user). */
export class CanvaloUserQueryDto {
  @ApiProperty() @IsString() @Length(1, 200) user_id: string;
}

export class CanvaloMessageDto {
  @ApiProperty() id: string;
  @ApiProperty() content: string;
  @ApiProperty({ enum: ['user', 'assistant'] }) role: 'user' | 'assistant';
  @ApiProperty() timestamp: string;
  @ApiProperty({ type: String, nullable: true }) agent_type: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) metadata: Record<string, unknown> | null;
}

export class CanvaloConversationDto {
  @ApiProperty() id: string;
  @ApiProperty() user_id: string;
  @ApiProperty({ type: String, nullable: true }) title: string | null;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;
  @ApiProperty({ type: String, nullable: true }) last_message_at: string | null;
  @ApiProperty() message_count: number;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: Record<string, unknown>;
}

export class CanvaloConversationWithMessagesDto extends CanvaloConversationDto {
  @ApiProperty({ type: [CanvaloMessageDto] }) messages: CanvaloMessageDto[];
}

/** The inside of Canvalo's error body. */
export class CanvaloErrorDto {
  @ApiProperty({ example: 'NOT_FOUND' }) code: string;
  @ApiProperty() message: string;
  @ApiProperty({ description: 'A sentence to show the end user' }) userMessage: string;
  @ApiProperty({ type: [String] }) suggestedActions: string[];
  @ApiProperty() retryable: boolean;
}

/** Canvalo's error body (CanvaloExceptionFilter): `{error: {code, message, userMessage, suggestedActions, retryable}}`. */
export class CanvaloErrorBodyDto {
  @ApiProperty({ type: CanvaloErrorDto }) error: CanvaloErrorDto;
}

export class CanvaloSuccessDto {
  @ApiProperty({ enum: [true] }) success: true;
}
