import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

interface ThrottlerLimitDetail {
  timeToBlockExpire: number;
  timeToExpire: number;
}

/** The global rate limit, answering with the contract's 429 RATE_LIMITED body and Retry-After. */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  protected throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new AppError(ErrorCode.RATE_LIMITED, 'Too many requests; slow down', {
      retryAfter: detail.timeToBlockExpire || detail.timeToExpire || 1,
    });
  }
}
