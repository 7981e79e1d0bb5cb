import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** Domain errors of the research feature. */
export const ResearchErrors = {
  sessionNotFound: () => AppError.notFound('Research session'),
  alreadyRunning: () =>
    new AppError(ErrorCode.CONFLICT, 'This research session is already running', {
      suggestion: 'Follow GET /api/run_sse/:sessionId, or cancel it with POST /api/run_sse/:sessionId/cancel before restarting.',
    }),
  invalidSessionId: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'Validation failed: sessionId', {
      fieldErrors: [{ field: 'sessionId', message: 'sessionId must be a UUID or 1-100 characters of letters, digits, "-" and "_"' }],
    }),
  invalidCursor: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'Validation failed: cursor', { fieldErrors: [{ field: 'cursor', message: 'cursor is not valid' }] }),
};
