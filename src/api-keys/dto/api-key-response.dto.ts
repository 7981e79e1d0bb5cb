import { ApiProperty } from '@nestjs/swagger';
import { API_KEY_SCOPES, type ApiKeyScope } from 'src/api-keys/entities/api-key.entity';

/** A key as listed: never the secret. */
export class ApiKeyResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ example: 'cb_live_Ab3dEf9h', description: '`cb_live_` and the first 8 characters of the key' })
  prefix: string;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true }) scopes: ApiKeyScope[];
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The admin who created it' }) createdBy:
    string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'Updated in batches (up to ~15 s late)',
  })
  lastUsedAt: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) expiresAt: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) revokedAt: string | null;
}

/** The answer to POST /api/api-keys: the only time the key is shown. */
export class CreatedApiKeyDto extends ApiKeyResponseDto {
  @ApiProperty({ example: 'cb_live_Ab3dEf9h…', description: 'The key. Shown once; store it now.' }) key: string;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyResponseDto] }) items: ApiKeyResponseDto[];
}
