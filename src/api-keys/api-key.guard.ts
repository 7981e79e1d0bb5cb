import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerStorage, type ThrottlerStorage } from '@nestjs/throttler';
import type { Request } from 'express';
import type { ApiKeyPrincipal } from 'src/api-keys/api-key-principal';
import { ApiKeyErrors } from 'src/api-keys/api-keys.errors';
import { ApiKeysService, looksLikeApiKey } from 'src/api-keys/api-keys.service';
import type { ApiKeyScope } from 'src/api-keys/entities/api-key.entity';
import { requestContext } from 'src/common/logging/request-context';
import { APP_CONFIG, AppConfig } from 'src/config/env';

export const API_KEY_SCOPE = 'apiKeyScope';
export type ApiKeyRequest = Request & { apiKey?: ApiKeyPrincipal };

/**
 * The front door of routes marked `@ApiKeyAuth(scope)` (they are `@Public()` for the JWT guard):
 * `Authorization: Bearer cb_live_…` must be a live key (401 otherwise) with the scope (403), within the
 * key's own rate limit (429). Sets `request.apiKey`; there is never a `request.user`, so nothing that
 * needs a user or a role can be reached with a key.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<ApiKeyRequest>();
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw ApiKeyErrors.missing();
    if (!looksLikeApiKey(match[1])) throw ApiKeyErrors.invalid();
    const principal = await this.keys.authenticate(match[1]);
    req.apiKey = principal;
    const store = requestContext.getStore();
    if (store) store.teamId = principal.teamId;
    const scope = this.reflector.getAllAndOverride<ApiKeyScope | undefined>(API_KEY_SCOPE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (scope && !principal.scopes.includes(scope)) throw ApiKeyErrors.missingScope(scope);
    const { limit, ttlMs } = this.config.apiKeys;
    const hit = await this.storage.increment(`apikey:${principal.keyId}`, ttlMs, limit, ttlMs, 'apikey');
    if (hit.isBlocked || hit.totalHits > limit)
      throw ApiKeyErrors.rateLimited(Math.max(1, hit.timeToBlockExpire || hit.timeToExpire || 1));
    return true;
  }
}
