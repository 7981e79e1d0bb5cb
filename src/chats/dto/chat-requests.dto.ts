import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsObject, IsOptional, IsString, IsUUID, MaxLength, MinLength } from 'class-validator';
import { LimitQueryDto } from 'src/common/dto/limit-query.dto';
import { CursorQueryDto } from 'src/common/pagination/cursor-query.dto';

const toBool = ({ value }: { value: unknown }) =>
  value === 'true' || value === true ? true : value === 'false' || value === false ? false : value;

export class CreateChatDto {
  @ApiProperty({ format: 'uuid' }) @IsUUID() agentId: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 200, example: 'Quarterly planning' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  title?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { tags: ['work'], priority: 'high' } })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

export class UpdateChatDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 200 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  title?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) @IsOptional() @IsObject() metadata?: Record<
    string,
    unknown
  >;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() isArchived?: boolean;
}

export class ListChatsQueryDto extends CursorQueryDto {
  @ApiPropertyOptional({ description: 'true: only archived chats; false: only active ones; absent: both' })
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  archived?: boolean;

  @ApiPropertyOptional({ description: 'Case-insensitive substring of the title', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;
}

export class GetChatQueryDto {
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Show the branch ending at this message (default: the most recent leaf)',
  })
  @IsOptional()
  @IsUUID()
  leafId?: string;
}

export class SendMessageDto {
  @ApiProperty({ minLength: 1, maxLength: 32000 }) @IsString() @MinLength(1) @MaxLength(32000) content: string;

  @ApiPropertyOptional({
    minLength: 1,
    maxLength: 200,
    description: 'Client-chosen id: sending the same one again returns the first exchange',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  clientMessageId?: string;

  @ApiPropertyOptional({
    format: 'uuid',
    nullable: true,
    type: String,
    description:
      'Reply under this message (an earlier one edits by branching); null starts a new root (edits the first message). Absent: the current leaf.',
  })
  @IsOptional()
  @IsUUID()
  parentId?: string | null;
}

export class StreamQueryDto {
  @ApiPropertyOptional({ maxLength: 64, description: 'Resume after this event id (the Last-Event-ID header wins)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  lastEventId?: string;
}

export class SearchChatsQueryDto extends LimitQueryDto {
  @ApiProperty({
    minLength: 1,
    maxLength: 200,
    description: 'Words; quotes for phrases, - to exclude (websearch syntax)',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  q: string;
}

export class ExportChatQueryDto {
  @ApiPropertyOptional({ enum: ['md', 'json'], default: 'md' }) @IsOptional() @IsIn(['md', 'json']) format?:
    'md' | 'json';
}
