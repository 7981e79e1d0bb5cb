import { applyDecorators, UseFilters, UsePipes } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { AuthCookieScope } from 'src/auth/auth-http';
import { createLenientValidationPipe } from 'src/common/pipes/validation.pipe';
import { N8nExceptionFilter } from 'src/compat/n8n/n8n-exception.filter';

/** Where the surface is mounted: the n8n frontend's API base URL is `<server>/compat/n8n`. */
export const N8N_PREFIX = 'compat/n8n';

/** The refresh cookie must reach the surface's own refresh route. */
export const N8N_COOKIE_SCOPE: AuthCookieScope = { refreshPath: `/${N8N_PREFIX}/api/auth` };

/**
 * What every n8n compatibility controller has: unknown fields dropped (not refused), FastAPI error bodies,
 * and no place in the OpenAPI document (the surface is documented in docs/compat.md).
 */
export const N8nCompatController = () =>
  applyDecorators(ApiExcludeController(), UsePipes(createLenientValidationPipe()), UseFilters(N8nExceptionFilter));
