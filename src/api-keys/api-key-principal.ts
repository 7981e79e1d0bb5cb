import type { ApiKeyScope } from 'src/api-keys/entities/api-key.entity';

/**
 * What the API key guard puts on `request.apiKey`: a team and scopes, never a user or a role. Routes
 * behind the JWT guard never see it (a key is not a JWT, so they answer 401).
 */
export interface ApiKeyPrincipal {
  keyId: string;
  teamId: string;
  name: string;
  scopes: ApiKeyScope[];
  /** The admin who created the key (for audit). */
  createdBy: string | null;
}
