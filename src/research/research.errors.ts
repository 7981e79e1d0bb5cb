import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** Domain errors of the research feature. */
export const ResearchErrors = {
  sessionNotFound: () => AppError.notFound('Research session'),
  messageNotFound: () =>
    new AppError(ErrorCode.NOT_FOUND, 'Research message not found', {
      suggestion: 'messageId must be the id of a message stored with POST /api/sessions/:sessionId/messages in one of your sessions.',
    }),
  ambiguousMessage: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'Validation failed: sessionId', {
      fieldErrors: [{ field: 'sessionId', message: 'this messageId exists in several of your sessions: give the sessionId too' }],
    }),
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
