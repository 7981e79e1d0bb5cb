import { ApiProperty } from '@nestjs/swagger';
import { CursorQueryDto } from 'src/common/pagination/cursor-query.dto';

export class AgentHistoryQueryDto extends CursorQueryDto {}

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
