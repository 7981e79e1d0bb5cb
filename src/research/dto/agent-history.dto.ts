import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { LimitQueryDto } from 'src/common/dto/limit-query.dto';

export class AgentHistoryQueryDto extends LimitQueryDto {
  @ApiPropertyOptional({ description: 'Opaque: the nextCursor of the previous page' })
  @IsOptional() @IsString() @Matches(/^\d{1,18}$/, { message: 'cursor is not valid' })
  cursor?: string;
}

export class AgentHistoryItemDto {
  @ApiProperty({ enum: ['agent_start', 'agent_complete'] }) type: string;
  @ApiProperty() sessionId: string;
  @ApiProperty() agentId: string;
  @ApiProperty() agentType: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) data: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
}

export class AgentHistoryListDto {
  @ApiProperty({ type: [AgentHistoryItemDto] }) items: AgentHistoryItemDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}
