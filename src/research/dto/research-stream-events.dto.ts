import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { SseEventSpec } from 'src/common/openapi/api-event-stream.decorator';

/**
 * `data` of the research streams' events (src/research/pipeline/research-pipeline.ts, streams/research-streams.service.ts),
 * for the OpenAPI document. Vana's clients read these snake_case fields; new fields may be added.
 */
export const AGENT_TYPES = [
  'team_leader',
  'plan_generator',
  'section_planner',
  'researcher',
  'evaluator',
  'report_writer',
] as const;

export class ResearchAgentStateDto {
  @ApiProperty() agent_id: string;
  @ApiProperty({ enum: AGENT_TYPES }) agent_type: string;
  @ApiPropertyOptional() name?: string;
  @ApiProperty({ enum: ['waiting', 'running', 'completed', 'failed', 'cancelled'] }) status: string;
  @ApiProperty({ minimum: 0, maximum: 1 }) progress: number;
  @ApiProperty() current_task: string;
}

export class ResearchEventBaseDto {
  @ApiPropertyOptional() sessionId?: string;
  @ApiPropertyOptional({ format: 'date-time' }) timestamp?: string;
}

export class ResearchConnectionDataDto extends ResearchEventBaseDto {
  @ApiProperty({ enum: ['connected'] }) status: 'connected';
  @ApiProperty({ description: 'The current run (0: never started)' }) runNo: number;
  @ApiProperty({ enum: ['pending', 'running', 'completed', 'failed', 'cancelled'] }) sessionStatus: string;
}

export class ResearchStartedDataDto extends ResearchEventBaseDto {
  @ApiProperty() query: string;
  @ApiProperty() title: string;
  @ApiProperty({ type: 'integer', minimum: 0 }) runNo: number;
  @ApiProperty({ enum: ['running'] }) status: string;
  @ApiProperty({ type: [ResearchAgentStateDto] }) agents: ResearchAgentStateDto[];
}

export class ResearchFindingDto {
  @ApiProperty() section: string;
  @ApiProperty() summary: string;
  @ApiProperty({ enum: ['researched', 'revised', 'missing'] }) status: string;
}

export class ResearchPartialResultsDto {
  @ApiProperty({ type: [ResearchFindingDto] }) findings: ResearchFindingDto[];
  @ApiProperty({ type: [String] }) sources: string[];
}

export class ResearchProgressDataDto extends ResearchEventBaseDto {
  @ApiProperty() phase: string;
  @ApiProperty({ minimum: 0, maximum: 1, description: 'Monotonic within a run' }) progress: number;
  @ApiProperty({ type: [ResearchAgentStateDto] }) agents: ResearchAgentStateDto[];
  @ApiProperty({ type: ResearchPartialResultsDto }) partial_results: ResearchPartialResultsDto;
}

export class ResearchAgentErrorDto {
  @ApiProperty() code: string;
  @ApiProperty() message: string;
}

export class ResearchAgentStartDataDto extends ResearchEventBaseDto {
  @ApiProperty() agent_id: string;
  @ApiProperty({ enum: AGENT_TYPES }) agent_type: string;
  @ApiPropertyOptional() name?: string;
  @ApiPropertyOptional() task?: string;
  @ApiPropertyOptional() provider?: string;
}

export class ResearchAgentCompleteDataDto extends ResearchEventBaseDto {
  @ApiProperty() agent_id: string;
  @ApiProperty({ enum: AGENT_TYPES }) agent_type: string;
  @ApiProperty({ enum: ['completed', 'failed', 'cancelled'] }) status: string;
  @ApiPropertyOptional() attempts?: number;
  @ApiPropertyOptional() duration_ms?: number;
  @ApiPropertyOptional() model?: string;
  @ApiPropertyOptional({ type: ResearchAgentErrorDto }) error?: ResearchAgentErrorDto;
}

export class ResearchCompleteDataDto extends ResearchEventBaseDto {
  @ApiProperty({ enum: ['completed'] }) status: string;
  @ApiProperty({ minimum: 1, maximum: 1 }) progress: number;
  @ApiProperty({ description: 'The report, Markdown' }) final_report: string;
}

export class ResearchErrorDataDto extends ResearchEventBaseDto {
  @ApiProperty({ enum: ['failed', 'cancelled'] }) status: string;
  @ApiProperty({ example: 'UPSTREAM_FAILED' }) code: string;
  @ApiProperty() message: string;
  @ApiPropertyOptional({ type: [ResearchAgentStateDto] }) agents?: ResearchAgentStateDto[];
}

export class ResearchHeartbeatDataDto {
  @ApiProperty() sessionId: string;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
}

export const RESEARCH_RUN_EVENTS: SseEventSpec[] = [
  {
    event: 'connection',
    data: ResearchConnectionDataDto,
    hasId: false,
    description: 'First event of every connection',
  },
  { event: 'research_started', data: ResearchStartedDataDto },
  { event: 'research_progress', data: ResearchProgressDataDto },
  { event: 'agent_start', data: ResearchAgentStartDataDto },
  { event: 'agent_complete', data: ResearchAgentCompleteDataDto },
  { event: 'research_complete', data: ResearchCompleteDataDto, description: 'Terminal: the report' },
  { event: 'error', data: ResearchErrorDataDto, description: 'Terminal: the run failed or was cancelled' },
  { event: 'heartbeat', data: ResearchHeartbeatDataDto, hasId: false },
];

export class AgentNetworkConnectionDataDto {
  @ApiProperty({ enum: ['connected'] }) status: 'connected';
  @ApiProperty() sessionId: string;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
}

export class AgentNetworkSnapshotDataDto {
  @ApiProperty() sessionId: string;
  @ApiProperty({ enum: ['pending', 'running', 'completed', 'failed', 'cancelled'] }) status: string;
  @ApiProperty({ type: String, nullable: true }) phase: string | null;
  @ApiProperty({ minimum: 0, maximum: 1 }) progress: number;
  @ApiProperty({ type: [ResearchAgentStateDto] }) agents: ResearchAgentStateDto[];
  @ApiProperty({ format: 'date-time' }) timestamp: string;
}

export class AgentNetworkUpdateDataDto {
  @ApiPropertyOptional() sessionId?: string;
  @ApiPropertyOptional() phase?: string;
  @ApiPropertyOptional({ minimum: 0, maximum: 1 }) progress?: number;
  @ApiProperty({ enum: ['running', 'completed', 'failed', 'cancelled'] }) status: string;
  @ApiPropertyOptional({ type: [ResearchAgentStateDto] }) agents?: ResearchAgentStateDto[];
  @ApiPropertyOptional({ format: 'date-time' }) timestamp?: string;
}

export const AGENT_NETWORK_EVENTS: SseEventSpec[] = [
  { event: 'agent_network_connection', data: AgentNetworkConnectionDataDto, hasId: false },
  {
    event: 'agent_network_snapshot',
    data: AgentNetworkSnapshotDataDto,
    hasId: false,
    description: "Every agent's state now",
  },
  { event: 'agent_network_update', data: AgentNetworkUpdateDataDto },
  { event: 'agent_start', data: ResearchAgentStartDataDto },
  { event: 'agent_complete', data: ResearchAgentCompleteDataDto },
];
