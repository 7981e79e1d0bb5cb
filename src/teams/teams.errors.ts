import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

export const TeamErrors = {
  teamNotFound: () => AppError.notFound('Team'),
  memberNotFound: () => AppError.notFound('Member'),
  lastAdmin: () =>
    new AppError(ErrorCode.CONFLICT, 'The last active admin of a team cannot be demoted or deactivated', {
      suggestion: 'Promote another member to admin first.',
    }),
};
