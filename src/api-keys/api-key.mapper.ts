import type { ApiKeyResponseDto } from 'src/api-keys/dto/api-key-response.dto';
import type { ApiKey } from 'src/api-keys/entities/api-key.entity';

/** The key as the API shows it: never the key itself nor its hash. */
export function toApiKeyResponse(k: ApiKey): ApiKeyResponseDto {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    createdBy: k.createdBy,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}
