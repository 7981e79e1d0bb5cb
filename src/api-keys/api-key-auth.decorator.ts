import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { ApiKeyPrincipal } from 'src/api-keys/api-key-principal';
import { API_KEY_SCOPE, ApiKeyGuard } from 'src/api-keys/api-key.guard';
import type { ApiKeyScope } from 'src/api-keys/entities/api-key.entity';
import { Public } from 'src/common/decorators/public.decorator';

/** The route takes a team API key with `scope` instead of a user's JWT. */
export const ApiKeyAuth = (scope: ApiKeyScope) =>
  applyDecorators(
    Public(),
    SetMetadata(API_KEY_SCOPE, scope),
    UseGuards(ApiKeyGuard),
    ApiBearerAuth('apiKey'),
    ApiUnauthorizedResponse({ description: 'No valid team API key' }),
    ApiForbiddenResponse({ description: `The key lacks the "${scope}" scope` }),
  );

/** The API key principal (set by ApiKeyGuard). */
export const CurrentApiKey = createParamDecorator((_: unknown, ctx: ExecutionContext): ApiKeyPrincipal => {
  return ctx.switchToHttp().getRequest<{ apiKey: ApiKeyPrincipal }>().apiKey;
});
