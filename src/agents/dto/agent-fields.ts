import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsUUID,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  registerDecorator,
  ValidateIf,
  ValidateNested,
  ValidationArguments,
} from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { validateUpstreamUrlSyntax } from 'src/llm/url-safety';

export const PROVIDERS = ['gemini', 'openai', 'n8n', 'mock'] as const;
export const MOCK_ERRORS = [
  'server',
  'rate_limit',
  'auth',
  'bad_request',
  'connection',
  'malformed',
  'timeout',
] as const;

/** The field is optional, but when present it must be valid: `null` is refused (non-nullable fields). */
export const Present = () => ValidateIf((_o: object, v: unknown) => v !== undefined);

/**
 * An http(s) URL acceptable as an upstream: the always-refused cases of src/llm/url-safety.ts (scheme,
 * credentials, metadata, link-local). Private/loopback hosts are judged by the service against
 * ALLOW_PRIVATE_UPSTREAMS, and llm re-checks resolved addresses at call time.
 */
export function IsUpstreamUrl(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isUpstreamUrl',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (v: unknown) =>
          typeof v === 'string' && v.length <= 2000 && validateUpstreamUrlSyntax(v, true) === null,
        defaultMessage: (a?: ValidationArguments) => {
          const v: unknown = a?.value;
          if (typeof v !== 'string') return `${a?.property} must be an http(s) URL`;
          if (v.length > 2000) return `${a?.property} must be at most 2000 characters`;
          return `${a?.property} must be an http(s) URL: ${validateUpstreamUrlSyntax(v, true)}`;
        },
      },
    });
}

/** One agent a router may choose. */
export class RouterCandidateDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  agentId: string;

  @ApiProperty({ maxLength: 500, example: 'Questions about invoices and payments' })
  @IsString()
  @MaxLength(500)
  description: string;
}

/**
 * `config.router`: makes the agent a supervisor that routes each query to one candidate (docs/agents.md):
 * its own model chooses (a structured call), or on failure/timeout `defaultAgentId` answers.
 */
export class RouterConfigDto {
  @ApiProperty({ type: [RouterCandidateDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => RouterCandidateDto)
  candidates: RouterCandidateDto[];

  @ApiProperty({ format: 'uuid', description: 'One of the candidates: answers when the choice fails' })
  @IsUUID()
  defaultAgentId: string;

  @ApiPropertyOptional({
    minimum: 100,
    maximum: 60000,
    default: 10000,
    description: 'How long the choice may take (ms)',
  })
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(60000)
  timeoutMs?: number;
}

/**
 * `config`: known keys only (unknown keys are refused by the global whitelist). In PATCH a key set to
 * `null` is removed. The `mock*` keys drive the built-in mock provider (src/llm/providers/mock.provider.ts)
 * and are accepted for provider `mock` only.
 */
export class AgentConfigDto {
  @ApiPropertyOptional({ type: Number, nullable: true, minimum: 0, maximum: 2, example: 0.7 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number | null;

  @ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, maximum: 200000, example: 1024 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(200000)
  maxTokens?: number | null;

  @ApiPropertyOptional({ type: Number, nullable: true, minimum: 0, maximum: 1 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  topP?: number | null;

  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 1,
    maximum: 100000,
    description: 'mock only: deltas per reply',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100000)
  mockDeltas?: number | null;

  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: 60000,
    description: 'mock only: pause between deltas (ms)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60000)
  mockDelayMs?: number | null;

  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: 600000,
    description: 'mock only: delay before the first delta (ms)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600000)
  mockFirstTokenDelayMs?: number | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    maxLength: 100000,
    description: 'mock only: reply exactly this text',
  })
  @IsOptional()
  @IsString()
  @MaxLength(100000)
  mockContent?: string | null;

  @ApiPropertyOptional({ enum: MOCK_ERRORS, nullable: true, description: 'mock only: fail before the first delta' })
  @IsOptional()
  @IsIn(MOCK_ERRORS)
  mockError?: (typeof MOCK_ERRORS)[number] | null;

  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: 600000,
    description: 'mock only: Retry-After of a rate_limit error (ms)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600000)
  mockRetryAfterMs?: number | null;
  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: 100000,
    description: 'mock only: fail this many calls, then succeed',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100000)
  mockErrorTimes?: number | null;
  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: 100000,
    description: 'mock only: fail after this many deltas',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100000)
  mockFailAfter?: number | null;
  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: 100000,
    description: 'mock only: stop sending after this many deltas',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100000)
  mockStallAfter?: number | null;

  @ApiPropertyOptional({
    type: RouterConfigDto,
    nullable: true,
    description: 'Makes the agent a router (supervisor) over candidate agents',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RouterConfigDto)
  router?: RouterConfigDto | null;
}

/** Decorators of the nested `config` object (shared by create/replace and patch). */
export const ConfigField = () => (target: object, key: string) => {
  IsOptional()(target, key);
  IsObject()(target, key);
  ValidateNested()(target, key);
  Type(() => AgentConfigDto)(target, key);
};
