import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, IsUUID, Length, MaxLength } from 'class-validator';
import { AgentConfigDto, ConfigField, IsUpstreamUrl, PROVIDERS } from 'src/agents/dto/agent-fields';
import type { LlmProviderName } from 'src/llm/llm.types';

/**
 * Body of POST /api/agents and PUT /api/agents/:id (PUT replaces: omitted optional fields go back to their
 * defaults, except the write-only secret, which is kept unless sent as null or the provider changes).
 * Provider-dependent rules (model required, baseUrl/webhookUrl/secret allowed) are checked by the service.
 */
export class CreateAgentDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'Support bot' })
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 1000, description: 'Absent or null: empty' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  description?: string | null;

  @ApiProperty({ enum: PROVIDERS })
  @IsIn(PROVIDERS, { message: `provider must be one of: ${PROVIDERS.join(', ')}` })
  provider: LlmProviderName;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    minLength: 1,
    maxLength: 200,
    description: "Required except for mock (default 'mock-1')",
    example: 'gemini-2.5-flash',
  })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  model?: string | null;

  @ApiPropertyOptional({
    type: String,
    format: 'uri',
    maxLength: 2000,
    description: 'gemini/openai only: API base URL override',
    nullable: true,
    example: 'https://openrouter.ai/api/v1',
  })
  @IsOptional()
  @IsUpstreamUrl()
  baseUrl?: string | null;

  @ApiPropertyOptional({
    type: String,
    format: 'uri',
    maxLength: 2000,
    description: 'n8n only (required for n8n): the webhook to POST to',
    nullable: true,
  })
  @IsOptional()
  @IsUpstreamUrl()
  webhookUrl?: string | null;

  @ApiPropertyOptional({
    type: String,
    minLength: 1,
    maxLength: 4000,
    description: 'gemini/openai only. Write-only; null clears it.',
    nullable: true,
    writeOnly: true,
  })
  @IsOptional()
  @IsString()
  @Length(1, 4000)
  apiKey?: string | null;

  @ApiPropertyOptional({
    type: String,
    minLength: 1,
    maxLength: 4000,
    description: 'n8n only. Write-only; null clears it.',
    nullable: true,
    writeOnly: true,
  })
  @IsOptional()
  @IsString()
  @Length(1, 4000)
  webhookToken?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 20000, description: 'Absent or null: empty' })
  @IsOptional()
  @IsString()
  @MaxLength(20000)
  systemPrompt?: string | null;

  @ApiPropertyOptional({ type: AgentConfigDto, nullable: true })
  @ConfigField()
  config?: AgentConfigDto | null;

  @ApiPropertyOptional({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'Another agent of the same team; no cycles',
  })
  @IsOptional()
  @IsUUID()
  fallbackAgentId?: string | null;

  @ApiPropertyOptional({ type: Boolean, nullable: true, description: 'Absent or null: true' })
  @IsOptional()
  @IsBoolean()
  isActive?: boolean | null;
}
