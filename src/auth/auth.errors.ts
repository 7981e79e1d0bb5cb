import { AppError, FieldError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** Domain errors of the auth feature. */
export const AuthErrors = {
  unauthorized: (message = 'Authentication required') => new AppError(ErrorCode.UNAUTHORIZED, message),
  invalidCredentials: (attemptsBeforeLockout?: number) =>
    new AppError(ErrorCode.UNAUTHORIZED, 'Invalid email or password', {
      details: attemptsBeforeLockout !== undefined ? { attemptsBeforeLockout } : undefined,
      suggestion:
        attemptsBeforeLockout !== undefined
          ? `Check your credentials: ${attemptsBeforeLockout} more failure(s) will lock sign-in temporarily.`
          : undefined,
    }),
  invalidRefresh: () =>
    new AppError(ErrorCode.UNAUTHORIZED, 'Invalid or expired refresh token', { suggestion: 'Log in again.' }),
  refreshReuse: () =>
    new AppError(ErrorCode.UNAUTHORIZED, 'Refresh token already used; the session has been revoked', {
      suggestion: 'Log in again.',
    }),
  lockedOut: (seconds: number) =>
    new AppError(ErrorCode.RATE_LIMITED, 'Too many failed sign-in attempts; sign-in is temporarily locked', {
      retryAfter: seconds,
    }),
  rateLimited: (seconds: number) =>
    new AppError(ErrorCode.RATE_LIMITED, 'Too many attempts; slow down', { retryAfter: seconds }),
  ambiguousTeam: () =>
    new AppError(
      ErrorCode.VALIDATION_FAILED,
      'This email belongs to more than one team: say which one with `team` (the team slug)',
      {
        fieldErrors: [{ field: 'team', message: 'team is required for this email' }],
      },
    ),
  weakPassword: (fieldErrors: FieldError[]) =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'Password does not meet the requirements', { fieldErrors }),
  exactlyOneJoin: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'Give exactly one of teamName, inviteToken or teamId', {
      fieldErrors: [{ field: 'teamName', message: 'exactly one of teamName, inviteToken, teamId is required' }],
    }),
  invalidInvite: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'The invite is invalid, used or expired', {
      fieldErrors: [{ field: 'inviteToken', message: 'inviteToken is invalid, used or expired' }],
    }),
  inviteEmailMismatch: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'This invite is for another email address', {
      fieldErrors: [{ field: 'email', message: 'email does not match the invite' }],
    }),
  teamClosed: () =>
    new AppError(ErrorCode.NOT_FOUND, 'Team not found or not open for sign-up', {
      fieldErrors: [{ field: 'teamId', message: 'teamId must be a team that allows open sign-up' }],
    }),
  wrongCurrentPassword: (attemptsBeforeLockout?: number) =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'The current password is not correct', {
      fieldErrors: [{ field: 'currentPassword', message: 'currentPassword is not correct' }],
      details: attemptsBeforeLockout !== undefined ? { attemptsBeforeLockout } : undefined,
    }),
  samePassword: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 'Password does not meet the requirements', {
      fieldErrors: [{ field: 'newPassword', message: 'newPassword must differ from the current password' }],
    }),
  passwordChangedMeanwhile: () =>
    new AppError(ErrorCode.CONFLICT, 'The password was changed by another request meanwhile', {
      suggestion: 'Log in again with the new password.',
    }),
  emailTaken: () => new AppError(ErrorCode.CONFLICT, 'An account with this email already exists in this team'),
  forbiddenRole: (roles: readonly string[]) =>
    new AppError(ErrorCode.FORBIDDEN, `This action requires the ${roles.join(' or ')} role`),
  /** The password hashing pool is full: 503, retry shortly. */
  hashingSaturated: () =>
    new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'Too many sign-ins in progress; retry shortly', { retryAfter: 1 }),
  forbiddenOrigin: () =>
    new AppError(
      ErrorCode.FORBIDDEN,
      'Cookie-authenticated requests that change state must come from an allowed Origin',
      {
        suggestion: 'Send the request from an allowed origin, or authenticate with an Authorization: Bearer header.',
      },
    ),
};
