import { ApiProperty } from '@nestjs/swagger';
import { AgentConfigDto, PROVIDERS } from 'src/agents/dto/agent-fields';
import type { LlmProviderName } from 'src/llm/llm.types';

/** The agent as the API shows it. Secrets never appear: `hasSecret` says whether one is stored. */
export class AgentResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() description: string;
  @ApiProperty({ enum: PROVIDERS }) provider: LlmProviderName;
  @ApiProperty() model: string;
  @ApiProperty({ type: String, nullable: true }) baseUrl: string | null;
  @ApiProperty({ type: String, nullable: true }) webhookUrl: string | null;
  @ApiProperty() systemPrompt: string;
  @ApiProperty({ type: AgentConfigDto }) config: Record<string, unknown>;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) fallbackAgentId: string | null;
  @ApiProperty() isActive: boolean;
  @ApiProperty({ description: 'An apiKey / webhookToken is stored (never returned)' }) hasSecret: boolean;
  @ApiProperty({ type: String, nullable: true, example: '/api/agents/0b6e…/avatar?v=3f2a…' }) avatarUrl: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

/** What other modules receive from AgentsService.get. */
export type AgentResponse = AgentResponseDto;

export class AgentListDto {
  @ApiProperty({ type: [AgentResponseDto] }) items: AgentResponseDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
