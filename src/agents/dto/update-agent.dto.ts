import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, IsUUID, Length, MaxLength } from 'class-validator';
import { AgentConfigDto, ConfigField, IsUpstreamUrl, Present, PROVIDERS } from 'src/agents/dto/agent-fields';
import type { LlmProviderName } from 'src/llm/llm.types';

/**
 * Body of PATCH /api/agents/:id: only the fields sent change. `null` clears a nullable field
 * (description, baseUrl, webhookUrl, apiKey, webhookToken, systemPrompt, fallbackAgentId); `config` is
 * merged key by key, a key set to null is removed.
 */
export class UpdateAgentDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 100 })
  @Present()
  @IsString()
  @Length(1, 100)
  name?: string;

  @ApiPropertyOptional({ type: String, maxLength: 1000, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  description?: string | null;

  @ApiPropertyOptional({ enum: PROVIDERS })
  @Present()
  @IsIn(PROVIDERS, { message: `provider must be one of: ${PROVIDERS.join(', ')}` })
  provider?: LlmProviderName;

  @ApiPropertyOptional({ minLength: 1, maxLength: 200 })
  @Present()
  @IsString()
  @Length(1, 200)
  model?: string;

  @ApiPropertyOptional({ type: String, format: 'uri', maxLength: 2000, nullable: true })
  @IsOptional()
  @IsUpstreamUrl()
  baseUrl?: string | null;
  @ApiPropertyOptional({ type: String, format: 'uri', maxLength: 2000, nullable: true })
  @IsOptional()
  @IsUpstreamUrl()
  webhookUrl?: string | null;

  @ApiPropertyOptional({ type: String, minLength: 1, maxLength: 4000, nullable: true, writeOnly: true })
  @IsOptional()
  @IsString()
  @Length(1, 4000)
  apiKey?: string | null;
  @ApiPropertyOptional({ type: String, minLength: 1, maxLength: 4000, nullable: true, writeOnly: true })
  @IsOptional()
  @IsString()
  @Length(1, 4000)
  webhookToken?: string | null;

  @ApiPropertyOptional({ type: String, maxLength: 20000, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(20000)
  systemPrompt?: string | null;

  @ApiPropertyOptional({
    type: AgentConfigDto,
    nullable: true,
    description: 'Merged into the current config; a key set to null is removed',
  })
  @ConfigField()
  config?: AgentConfigDto | null;

  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true }) @IsOptional() @IsUUID() fallbackAgentId?:
    string | null;

  @ApiPropertyOptional() @Present() @IsBoolean() isActive?: boolean;
}
