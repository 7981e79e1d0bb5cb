import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { BrokenCircuitError, TaskCancelledError } from 'cockatiel';
import type { Request } from 'express';
import { Observable, TimeoutError, catchError, defer, from, lastValueFrom, timeout } from 'rxjs';
import { BreakerRegistry } from 'src/common/circuit/breaker-registry.service';
import { AppError } from 'src/common/errors/app-error';
import { isDependencyFault, requestTimedOut } from 'src/common/errors/dependency-failure';
import { ErrorCode } from 'src/common/errors/error-code';
import { isSseHandler } from 'src/common/sse/sse-route';
import { APP_CONFIG, AppConfig } from 'src/config/env';

export const SKIP_BREAKER_KEY = 'skipCircuitBreaker';
/** For long-lived responses (SSE): the route is not wrapped by a request breaker or timeout. */
export const SkipCircuitBreaker = () => SetMetadata(SKIP_BREAKER_KEY, true);

/**
 * A breaker per route (method + template) around every non-streaming request. It opens when, over a
 * sliding window (BREAKER_WINDOW_MS) holding at least BREAKER_MIN_REQUESTS counted requests, more than
 * BREAKER_FAILURE_RATE_PERCENT % failed because a dependency was unavailable or the request timed out;
 * while open it answers 503 CIRCUIT_OPEN with Retry-After, then lets a half-open probe through.
 * Health routes are outside it (`@SkipCircuitBreaker`): readiness must see a recovery at once.
 */
@Injectable()
export class CircuitBreakerInterceptor implements NestInterceptor {
  constructor(
    private readonly registry: BreakerRegistry,
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const skip = this.reflector.getAllAndOverride<boolean>(SKIP_BREAKER_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (skip || isSseHandler(this.reflector, context.getHandler())) return next.handle();

    const req = context.switchToHttp().getRequest<Request>();
    const name = `route:${req.method} ${(req.route as { path?: string } | undefined)?.path ?? context.getClass().name + '.' + context.getHandler().name}`;
    const { failureRatePercent, windowMs, minRequests, resetTimeoutMs, requestTimeoutMs } = this.config.breaker;
    const policy = this.registry.get(name, {
      kind: 'route',
      sampling: { rate: failureRatePercent / 100, windowMs, minRequests },
      resetTimeoutMs,
      isFailure: isDependencyFault,
    });

    const run = () =>
      lastValueFrom(next.handle().pipe(timeout({ first: requestTimeoutMs })), { defaultValue: undefined }).catch(
        (err: unknown) => {
          if (err instanceof TimeoutError) {
            throw requestTimedOut();
          }
          throw err;
        },
      );
    return defer(() => from(policy.execute(run))).pipe(
      catchError((err: unknown) => {
        if (err instanceof BrokenCircuitError || err instanceof TaskCancelledError) {
          const retryAfter = this.registry.retryAfterSec(name);
          throw new AppError(
            ErrorCode.CIRCUIT_OPEN,
            'This endpoint is temporarily unavailable: a service it depends on is failing',
            { retryAfter },
          );
        }
        throw err;
      }),
    );
  }
}
