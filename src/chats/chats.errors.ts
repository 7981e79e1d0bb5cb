import { AppError, FieldError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** Domain errors of the chats feature. */
export const ChatErrors = {
  /** The caller's chat (or a message of it) does not exist, or is another user's or team's: 404. */
  notFound: (what = 'Chat') => AppError.notFound(what),
  /** A message named by a query or body field (`leafId`) that is not in the chat: 404 naming the field. */
  messageRefNotFound: (field: string) =>
    new AppError(ErrorCode.NOT_FOUND, 'Message not found', {
      fieldErrors: [{ field, message: `${field} must be a message of this chat` }],
    }),
  notAnAssistantMessage: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'Only an assistant message can be streamed, cancelled or regenerated'),
  invalidParent: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'parentId must be a message of this chat', {
      fieldErrors: [{ field: 'parentId', message: 'parentId must be a message of this chat' }],
    }),
  invalidMetadata: (fieldErrors: FieldError[]) =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'Invalid metadata', { fieldErrors }),
  messageRateLimited: (messagesPerMinute: number, retryAfter: number) =>
    new AppError(ErrorCode.RATE_LIMITED, `At most ${messagesPerMinute} messages per minute`, { retryAfter }),
  tooManyGenerations: (maxConcurrentGenerations: number) =>
    new AppError(
      ErrorCode.RATE_LIMITED,
      `At most ${maxConcurrentGenerations} replies can be generated at the same time`,
      {
        retryAfter: 1,
        suggestion: 'Wait for a reply to finish or cancel one.',
      },
    ),
  budgetExceeded: (retryAfter: number, details: { budget: number | null; used: number; periodEnd: string }) =>
    new AppError(ErrorCode.BUDGET_EXCEEDED, 'The team has used its monthly token budget', { retryAfter, details }),
};
