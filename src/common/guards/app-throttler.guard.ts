import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { AuthPrefetch } from 'src/auth/auth-prefetch';
import { IS_PUBLIC_KEY } from 'src/common/decorators/public.decorator';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

interface ThrottlerLimitDetail {
  timeToBlockExpire: number;
  timeToExpire: number;
}

/**
 * The global rate limit, answering with the contract's 429 RATE_LIMITED body and Retry-After. On a route
 * that needs a token it first starts authentication's Redis reads (AuthPrefetch), so that they and the
 * counter are in flight together: the guards wait for one round trip, not two in a row.
 */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly prefetch: AuthPrefetch,
  ) {
    super(options, storage, reflector);
  }

  canActivate(context: ExecutionContext): Promise<boolean> {
    if (
      context.getType() === 'http' &&
      !this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()])
    )
      this.prefetch.start(context.switchToHttp().getRequest());
    return super.canActivate(context);
  }

  protected throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new AppError(ErrorCode.RATE_LIMITED, 'Too many requests; slow down', {
      retryAfter: detail.timeToBlockExpire || detail.timeToExpire || 1,
    });
  }
}
