import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID, ValidateIf } from 'class-validator';

export class UpdateResearchSettingsDto {
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    format: 'uuid',
    description: 'Agent for plan_generator, section_planner, researcher, report_writer; null: default',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsUUID()
  workerAgentId?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    format: 'uuid',
    description: 'Agent for team_leader and evaluator; null: same as the worker',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsUUID()
  criticAgentId?: string | null;
}

export class ResearchAgentSummaryDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() provider: string;
  @ApiProperty() model: string;
}

export class ResearchEffectiveAgentsDto {
  @ApiProperty({ type: ResearchAgentSummaryDto }) worker: ResearchAgentSummaryDto;
  @ApiProperty({ type: ResearchAgentSummaryDto }) critic: ResearchAgentSummaryDto;
}

export class ResearchSettingsDto {
  @ApiProperty({ nullable: true, type: String }) workerAgentId: string | null;
  @ApiProperty({ nullable: true, type: String }) criticAgentId: string | null;
  @ApiProperty({ type: ResearchEffectiveAgentsDto, description: 'The agents a run started now would use' })
  effective: ResearchEffectiveAgentsDto;
}
