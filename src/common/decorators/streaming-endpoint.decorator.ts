import { applyDecorators } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { StreamingRoute } from 'src/common/drain/drain.guard';
import { SkipCircuitBreaker } from 'src/common/interceptors/circuit-breaker.interceptor';

export interface StreamingEndpointOptions {
  /** The route resumes after a Last-Event-ID (read it with `@LastEventId()`): documents the header. */
  resumable?: boolean;
}

/**
 * A route that answers with a long-lived stream (SSE written with `@Res()`, see src/common/sse): outside
 * the per-route circuit breaker and its request timeout, and refused with 503 while the instance drains
 * (even without `Accept: text/event-stream`, e.g. POST messages, whose default answer is the stream).
 * `@Sse()` routes get both without it.
 */
export function StreamingEndpoint(options: StreamingEndpointOptions = {}): MethodDecorator & ClassDecorator {
  const decorators: (MethodDecorator | ClassDecorator)[] = [SkipCircuitBreaker(), StreamingRoute()];
  if (options.resumable)
    decorators.push(ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id' }));
  return applyDecorators(...decorators);
}
