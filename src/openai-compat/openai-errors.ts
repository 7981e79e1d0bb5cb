import { HttpException } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** OpenAI's error body: `{ error: { message, type, param, code } }`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error answered in OpenAI's format and status (the /v1 API's own errors). */
export class OpenAiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'OpenAiError';
  }

  static invalid(message: string, param: string | null = null, code: string | null = null): OpenAiError {
    return new OpenAiError(400, message, 'invalid_request_error', code, param);
  }

  static modelNotFound(model: string): OpenAiError {
    return new OpenAiError(
      404,
      `The model \`${model}\` does not exist or you do not have access to it.`,
      'invalid_request_error',
      'model_not_found',
      'model',
    );
  }
}

/**
 * Every error of the /v1 routes as OpenAI would answer it. Statuses are OpenAI's: 400, 401, 403, 404, 429,
 * 500 and 503 (an upstream failure, timeout or open breaker is a 503 `server_error`, which OpenAI's SDKs retry).
 */
export function toOpenAiError(e: unknown): OpenAiError {
  if (e instanceof OpenAiError) return e;
  if (e instanceof AppError) return fromAppError(e);
  if (e instanceof ThrottlerException)
    return new OpenAiError(429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded', null, 1);
  if (e instanceof HttpException) {
    const status = e.getStatus();
    if (status === 404) return new OpenAiError(404, 'Not found', 'invalid_request_error', 'not_found');
    if (status < 500) return OpenAiError.invalid(e.message);
    return new OpenAiError(500, 'The server had an error while processing your request.', 'server_error');
  }
  const bodyParser = e as { type?: string; status?: number } | null;
  if (bodyParser?.type === 'entity.parse.failed')
    return OpenAiError.invalid('We could not parse the JSON body of your request.');
  if (bodyParser?.type === 'entity.too.large')
    return new OpenAiError(413, 'The request body is too large.', 'invalid_request_error');
  return new OpenAiError(500, 'The server had an error while processing your request.', 'server_error');
}

function fromAppError(e: AppError): OpenAiError {
  const retryAfter = e.options.retryAfter;
  switch (e.code) {
    case ErrorCode.VALIDATION_FAILED:
    case ErrorCode.BAD_REQUEST:
    case ErrorCode.INVALID_CURSOR:
      return OpenAiError.invalid(e.message, e.options.fieldErrors?.[0]?.field ?? null);
    case ErrorCode.UNAUTHORIZED:
      return new OpenAiError(
        401,
        `${e.message}. You can find your API key in the team's API keys (cb_live_…).`,
        'invalid_request_error',
        'invalid_api_key',
      );
    case ErrorCode.FORBIDDEN:
      return new OpenAiError(403, e.message, 'invalid_request_error', 'insufficient_permissions');
    case ErrorCode.NOT_FOUND:
      return new OpenAiError(404, e.message, 'invalid_request_error', 'not_found');
    case ErrorCode.CONFLICT:
      return OpenAiError.invalid(e.message);
    case ErrorCode.PAYLOAD_TOO_LARGE:
    case ErrorCode.HEADERS_TOO_LARGE:
      return new OpenAiError(413, e.message, 'invalid_request_error');
    case ErrorCode.UNSUPPORTED_MEDIA_TYPE:
      return OpenAiError.invalid(e.message);
    case ErrorCode.RATE_LIMITED:
      return new OpenAiError(429, e.message, 'requests', 'rate_limit_exceeded', null, retryAfter ?? 1);
    case ErrorCode.BUDGET_EXCEEDED:
      return new OpenAiError(
        429,
        `You exceeded your current quota: ${e.message}.`,
        'insufficient_quota',
        'insufficient_quota',
        null,
        retryAfter,
      );
    case ErrorCode.CIRCUIT_OPEN:
    case ErrorCode.UPSTREAM_FAILED:
    case ErrorCode.UPSTREAM_TIMEOUT:
    case ErrorCode.UPSTREAM_RATE_LIMITED:
    case ErrorCode.UPSTREAM_AUTH_FAILED:
    case ErrorCode.SERVICE_UNAVAILABLE:
    case ErrorCode.DATABASE_UNAVAILABLE:
      return new OpenAiError(503, e.message, 'server_error', e.code.toLowerCase(), null, retryAfter ?? 1);
    case ErrorCode.INTERNAL:
      return new OpenAiError(500, 'The server had an error while processing your request.', 'server_error');
  }
}

export function openAiErrorBody(e: OpenAiError): OpenAiErrorBody {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
}
