import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { BrokenCircuitError, TaskCancelledError } from 'cockatiel';
import type { Request } from 'express';
import { Observable, TimeoutError, catchError, defer, from, lastValueFrom, timeout } from 'rxjs';
import { BreakerRegistry } from 'src/common/circuit/breaker-registry.service';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG, AppConfig } from 'src/config/env';

export const SKIP_BREAKER_KEY = 'skipCircuitBreaker';
/** For long-lived responses (SSE): the route is not wrapped by a request breaker or timeout. */
export const SkipCircuitBreaker = () => SetMetadata(SKIP_BREAKER_KEY, true);

/** Upstream failures are the per-agent breakers' business; a route breaker counts the route's own faults. */
const NOT_ROUTE_FAULTS = new Set<ErrorCode>([
  ErrorCode.CIRCUIT_OPEN,
  ErrorCode.UPSTREAM_FAILED,
  ErrorCode.UPSTREAM_TIMEOUT,
  ErrorCode.UPSTREAM_RATE_LIMITED,
  ErrorCode.UPSTREAM_AUTH_FAILED,
]);

/** A server-side failure: 5xx, a timeout or anything unknown. Never a 4xx client error. */
export function isServerFault(err: unknown): boolean {
  if (err instanceof AppError) return err.status >= 500 && !NOT_ROUTE_FAULTS.has(err.code);
  const status = (err as { status?: unknown; getStatus?: () => number })?.getStatus?.() ?? (err as { status?: unknown })?.status;
  if (typeof status === 'number') return status >= 500;
  return true;
}

/**
 * A breaker per route (method + template), opened by consecutive server-side failures or timeouts;
 * while open it answers 503 CIRCUIT_OPEN with Retry-After, then lets a half-open probe through.
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
    const skip = this.reflector.getAllAndOverride<boolean>(SKIP_BREAKER_KEY, [context.getHandler(), context.getClass()]);
    if (skip || this.reflector.get<boolean>('__sse__', context.getHandler())) return next.handle();

    const req = context.switchToHttp().getRequest<Request>();
    const name = `route:${req.method} ${req.route?.path ?? context.getClass().name + '.' + context.getHandler().name}`;
    const { failureThreshold, resetTimeoutMs, requestTimeoutMs } = this.config.breaker;
    const policy = this.registry.get(name, { kind: 'route', failureThreshold, resetTimeoutMs, isFailure: isServerFault });

    const run = () =>
      lastValueFrom(next.handle().pipe(timeout({ first: requestTimeoutMs })), { defaultValue: undefined }).catch((err: unknown) => {
        if (err instanceof TimeoutError) {
          throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'The request took too long', { retryAfter: 1 });
        }
        throw err;
      });
    return defer(() => from(policy.execute(run))).pipe(
      catchError((err: unknown) => {
        if (err instanceof BrokenCircuitError || err instanceof TaskCancelledError) {
          const retryAfter = this.registry.retryAfterSec(name);
          throw new AppError(ErrorCode.CIRCUIT_OPEN, 'This endpoint is temporarily unavailable after repeated failures', { retryAfter });
        }
        throw err;
      }),
    );
  }
}
