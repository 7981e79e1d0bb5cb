import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { SessionMessageDto } from 'src/research/dto/research-session.dto';

export class EditMessageDto {
  @ApiProperty({ minLength: 1, maxLength: 10000 })
  @IsString()
  @MinLength(1)
  @MaxLength(10000)
  content: string;

  @ApiPropertyOptional({
    description:
      'For a user message: delete the messages after it and research the new content in a new run (409 while a run is going on). Default false.',
  })
  @IsOptional()
  @IsBoolean()
  regenerate?: boolean;
}

export class MessageOperationDto {
  @ApiProperty() sessionId: string;
  @ApiProperty() messageId: string;
  @ApiPropertyOptional({ type: SessionMessageDto, description: 'The edited message (edit only)' })
  message?: SessionMessageDto;
  @ApiProperty({
    type: [String],
    description:
      'Messages removed: the message and those after it (delete, regenerate), or those after it (edit with regenerate)',
  })
  deletedMessageIds: string[];
  @ApiProperty({ description: 'A new run of the session was started (follow it on …/events)' }) runStarted: boolean;
  @ApiPropertyOptional({ nullable: true, type: Number, description: "The new run's number" }) runNo: number | null;
}
