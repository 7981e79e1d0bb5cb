import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** Domain errors of the Canvalo surface (its filter gives them Canvalo's body shape). */
export const CanvaloErrors = {
  conversationNotFound: () => AppError.notFound('Conversation'),
  noActiveAgent: () => new AppError(ErrorCode.CONFLICT, 'The team has no active agent'),
  keyWithoutCreator: () => new AppError(ErrorCode.FORBIDDEN, 'This API key has no creator to own conversations'),
};
