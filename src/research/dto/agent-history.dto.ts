import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export class AgentHistoryQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'Opaque: the nextCursor of the previous page' })
  @IsOptional() @IsString() @Matches(/^\d{1,18}$/, { message: 'cursor is not valid' })
  cursor?: string;
}

export class AgentHistoryItemDto {
  @ApiProperty({ enum: ['agent_start', 'agent_complete'] }) type: string;
  @ApiProperty() sessionId: string;
  @ApiProperty() agentId: string;
  @ApiProperty() agentType: string;
  @ApiProperty({ type: Object }) data: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
}

export class AgentHistoryListDto {
  @ApiProperty({ type: [AgentHistoryItemDto] }) items: AgentHistoryItemDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}
