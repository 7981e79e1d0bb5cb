import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

describe('AppError', () => {
  it('carries the status of its code', () => {
    expect(new AppError(ErrorCode.CIRCUIT_OPEN, 'x').status).toBe(503);
    expect(AppError.notFound('Chat').message).toBe('Chat not found');
  });
});
