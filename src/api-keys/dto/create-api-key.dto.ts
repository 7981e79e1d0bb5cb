import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsISO8601, IsOptional, IsString, Length } from 'class-validator';
import { API_KEY_SCOPES, type ApiKeyScope } from 'src/api-keys/entities/api-key.entity';

/** Body of POST /api/api-keys. */
export class CreateApiKeyDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'LibreChat' })
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true, example: ['chat'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(API_KEY_SCOPES.length)
  @IsIn(API_KEY_SCOPES, { each: true, message: `each scope must be one of: ${API_KEY_SCOPES.join(', ')}` })
  scopes: ApiKeyScope[];

  @ApiPropertyOptional({
    description: 'ISO 8601; the key stops working at this instant. Omit for no expiry.',
    example: '2027-01-01T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  expiresAt?: string;
}

/** Query of GET /api/api-keys. */
export class ListApiKeysQueryDto {
  @ApiPropertyOptional({
    description: 'Only keys whose shown prefix starts with this (e.g. `cb_live_Ab3`)',
    maxLength: 32,
  })
  @IsOptional()
  @IsString()
  @Length(1, 32)
  prefix?: string;
}
