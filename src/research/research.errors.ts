import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** Domain errors of the research feature. */
export const ResearchErrors = {
  sessionNotFound: () => AppError.notFound('Research session'),
  messageNotFound: () =>
    new AppError(ErrorCode.NOT_FOUND, 'Research message not found', {
      suggestion:
        'messageId must be the id of a message of one of your sessions (GET /api/research/sessions/:id lists them).',
    }),
  ambiguousMessage: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'Validation failed: sessionId', {
      fieldErrors: [
        { field: 'sessionId', message: 'this messageId exists in several of your sessions: give the sessionId too' },
      ],
    }),
  alreadyRunning: () =>
    new AppError(ErrorCode.CONFLICT, 'This research session is already running', {
      suggestion:
        'Follow GET /api/research/sessions/:id/events, or cancel it with POST /api/research/sessions/:id/cancel first.',
    }),
  invalidSessionId: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'Validation failed: sessionId', {
      fieldErrors: [
        { field: 'sessionId', message: 'sessionId must be a UUID or 1-100 characters of letters, digits, "-" and "_"' },
      ],
    }),
  notRegenerable: (why: string) =>
    new AppError(ErrorCode.VALIDATION_FAILED, `Validation failed: messageId`, {
      fieldErrors: [{ field: 'messageId', message: why }],
    }),
};
