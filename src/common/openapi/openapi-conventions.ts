import type { OpenAPIObject } from '@nestjs/swagger';
import { getSchemaPath } from '@nestjs/swagger';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { ERROR_BODY_EXTENSION, VALIDATION_STATUS_EXTENSION } from 'src/common/openapi/api-error-body.decorator';

/** Marks an operation as reachable without a token (set by `@Public()`); turned into `security: []`. */
export const PUBLIC_EXTENSION = 'x-public';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** `ChatsController` + `create` → `chats_create` (what a generated client shows). */
export function operationId(controllerKey: string, methodKey: string): string {
  const base = controllerKey.replace(/Controller$/, '');
  return `${base.charAt(0).toLowerCase()}${base.slice(1)}_${methodKey}`;
}

// The OpenAPI document is walked as loose JSON: its objects are typed `any` on purpose, so reading them is too.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const errorContent = (schema: Json = { $ref: getSchemaPath(ErrorBodyDto) }): Json => ({
  'application/json': { schema },
});

const DEFAULT_DESCRIPTIONS: Record<string, string> = {
  '400': 'VALIDATION_FAILED: details.fieldErrors names each bad field',
  '401': 'UNAUTHORIZED: no valid access token (Authorization: Bearer or the access_token cookie)',
  '403': 'FORBIDDEN',
  '404': 'NOT_FOUND',
  '409': 'CONFLICT',
  '429': 'RATE_LIMITED, with Retry-After',
  '503': 'SERVICE_UNAVAILABLE, with Retry-After',
};

/**
 * Conventions every route gets without decorating for them, applied to the generated document:
 * - `@Public()` routes: `security: []` (unless the route documents its own scheme, as /metrics does);
 *   every other route: a 401 with the contract body (the global JWT guard answers it);
 * - every route with a body or query parameters: a 400 (the global ValidationPipe);
 * - every route with path parameters too (input hygiene refuses NUL and lone surrogates in them);
 * - every route: a 429 with Retry-After (the global rate limit), and a 503 with Retry-After (a dependency down);
 * - every 4xx/5xx response is `application/json` with the contract's error body (docs/api.md), unless the
 *   route documents its own JSON error shape (compat surfaces): a stream route's errors are never
 *   `text/event-stream`, whatever `@ApiProduces` says; a surface with `@ApiErrorBody()` gets its own shape on
 *   all of them (and its validation status instead of 400).
 */
export function applyOpenApiConventions(doc: OpenAPIObject): OpenAPIObject {
  // `details` carries feature-specific facts beside fieldErrors/suggestion (budget, attemptsBeforeLockout,
  // the upstream agent…): an open object (decorators cannot say so of a class).
  const details = doc.components?.schemas?.ErrorDetailsDto as Json | undefined;
  if (details) details.additionalProperties = true;
  for (const item of Object.values(doc.paths) as Json[]) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const isPublic = op[PUBLIC_EXTENSION] === true;
      delete op[PUBLIC_EXTENSION];
      // A compat surface's own error body and validation status (`@ApiErrorBody()`).
      const ownErrorBody = op[ERROR_BODY_EXTENSION] as Json | undefined;
      const validationStatus = (op[VALIDATION_STATUS_EXTENSION] as string | undefined) ?? '400';
      delete op[ERROR_BODY_EXTENSION];
      delete op[VALIDATION_STATUS_EXTENSION];
      if (isPublic) {
        if (!op.security?.length) op.security = [];
      } else {
        op.security ??= doc.security;
        op.responses['401'] ??= { description: DEFAULT_DESCRIPTIONS['401'] };
      }
      // The global ValidationPipe checks every body and query: VALIDATION_FAILED with fieldErrors.
      // Input hygiene (NUL, lone surrogates) refuses bad path parameters the same way.
      if (op.requestBody || (op.parameters as Json[] | undefined)?.some((p) => p.in === 'query' || p.in === 'path')) {
        op.responses[validationStatus] ??= {
          description: validationStatus === '400' ? DEFAULT_DESCRIPTIONS['400'] : 'Validation failed',
        };
      }
      // The global rate limit (AppThrottlerGuard) applies to every route.
      op.responses['429'] ??= { description: DEFAULT_DESCRIPTIONS['429'] };
      op.responses['429'].headers ??= {
        'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } },
      };
      // A dependency (PostgreSQL, Redis) down or its breaker open: 503 with Retry-After, never a 500.
      op.responses['503'] ??= { description: DEFAULT_DESCRIPTIONS['503'] + ' (a dependency is unavailable)' };
      op.responses['503'].headers ??= {
        'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } },
      };
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        if (!/^[45]\d\d$/.test(status)) continue;
        if (!response.description) response.description = DEFAULT_DESCRIPTIONS[status] ?? 'Error';
        delete response.schema; // a Swagger 2 leftover some libraries write (terminus's @HealthCheck 503)
        const json = response.content?.['application/json'];
        if (ownErrorBody) response.content = errorContent(ownErrorBody);
        else
          response.content = json?.schema && !isErrorBody(json.schema) ? { 'application/json': json } : errorContent();
      }
      op.responses = sortResponses(op.responses);
    }
  }
  return doc;
}

const isErrorBody = (schema: Json): boolean => schema.$ref === getSchemaPath(ErrorBodyDto);

function sortResponses(responses: Record<string, Json>): Record<string, Json> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}
