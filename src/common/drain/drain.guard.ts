import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { DRAIN_RETRY_AFTER_SEC, DrainService } from 'src/common/drain/drain.service';
import { AppError } from 'src/common/errors/app-error';
import { isSseHandler } from 'src/common/sse/sse-route';
import { ErrorCode } from 'src/common/errors/error-code';

export const STREAMING_ROUTE_KEY = 'streamingRoute';
/**
 * Marks a route that answers with a stream even without `Accept: text/event-stream` (e.g. POST messages,
 * whose default is SSE), so that it is refused while the instance drains. `@Sse()` routes need no mark.
 * Controllers use `@StreamingEndpoint()` (src/common/decorators), which sets it with the breaker's skip.
 */
export const StreamingRoute = () => SetMetadata(STREAMING_ROUTE_KEY, true);

/**
 * While the instance drains, new streams are refused with 503 SERVICE_UNAVAILABLE and Retry-After so the
 * client (or the load balancer) goes to another instance. A stream is an `@Sse()` route, a route marked
 * `@StreamingRoute()`, or any request that asks for `text/event-stream`. Other requests are still served.
 */
@Injectable()
export class DrainGuard implements CanActivate {
  constructor(
    private readonly drain: DrainService,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.drain.isDraining() || context.getType() !== 'http') return true;
    const handler = context.getHandler();
    const req = context.switchToHttp().getRequest<Request>();
    const streaming =
      isSseHandler(this.reflector, handler) ||
      this.reflector.getAllAndOverride<boolean>(STREAMING_ROUTE_KEY, [handler, context.getClass()]) === true ||
      (req.headers.accept ?? '').toLowerCase().includes('text/event-stream');
    if (!streaming) return true;
    throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'This instance is shutting down; reconnect to another one', {
      retryAfter: DRAIN_RETRY_AFTER_SEC,
    });
  }
}
