import { AppError, FieldError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** Domain errors of the agents feature. */
export const AgentErrors = {
  notFound: () => AppError.notFound('Agent'),
  /** An agent named by a field of another request (a chat's agentId, research settings): the 404 names the field. */
  referencedNotFound: (field: string) =>
    new AppError(ErrorCode.NOT_FOUND, 'Agent not found', {
      fieldErrors: [{ field, message: `${field} must be an agent of your team (no such agent)` }],
    }),
  invalid: (fieldErrors: FieldError[]) =>
    new AppError(
      ErrorCode.VALIDATION_FAILED,
      `Validation failed: ${[...new Set(fieldErrors.map((f) => f.field))].join(', ')}`,
      {
        fieldErrors,
      },
    ),
  noActiveAgent: (name: string) =>
    new AppError(ErrorCode.CONFLICT, `Agent "${name}" is inactive and has no active fallback`, {
      suggestion: 'Activate the agent or give it an active fallback agent.',
    }),
  secretUnreadable: () =>
    new AppError(ErrorCode.INTERNAL, 'The agent secret could not be decrypted', {
      suggestion: 'An administrator must re-enter the agent secret (or restore the encryption key).',
    }),
  avatarMissing: () => AppError.notFound('Avatar'),
  avatarFileMissing: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'Validation failed: file', {
      fieldErrors: [{ field: 'file', message: 'file is required (multipart/form-data field "file")' }],
    }),
  avatarTooLarge: () =>
    new AppError(ErrorCode.PAYLOAD_TOO_LARGE, 'Avatar must be at most 2 MiB', {
      suggestion: 'Upload a smaller image (at most 2 MiB).',
    }),
  avatarType: () =>
    new AppError(
      ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      'Avatar must be a PNG, JPEG, WebP or GIF image (judged by its content, not its name)',
      {
        suggestion: 'Upload a PNG, JPEG, WebP or GIF image; SVG and other formats are refused.',
      },
    ),
};
