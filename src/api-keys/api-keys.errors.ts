import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** Domain errors of the API keys feature. */
export const ApiKeyErrors = {
  notFound: () => AppError.notFound('API key'),
  invalid: () =>
    new AppError(ErrorCode.UNAUTHORIZED, 'Invalid API key', {
      suggestion: 'Send a live team API key as `Authorization: Bearer cb_live_…`.',
    }),
  missing: () => new AppError(ErrorCode.UNAUTHORIZED, 'An API key is required (Authorization: Bearer cb_live_…)'),
  missingScope: (scope: string) =>
    new AppError(ErrorCode.FORBIDDEN, `This API key lacks the "${scope}" scope`, { details: { requiredScope: scope } }),
  rateLimited: (retryAfter: number) =>
    new AppError(ErrorCode.RATE_LIMITED, 'Too many requests for this API key', { retryAfter }),
  expiryInPast: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'Validation failed: expiresAt', {
      fieldErrors: [{ field: 'expiresAt', message: 'expiresAt must be in the future' }],
    }),
};
