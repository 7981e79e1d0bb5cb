import { SSE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';

/** Whether a handler is a Nest `@Sse()` route (the one place that reads Nest's `'__sse__'` metadata key). */
export function isSseHandler(reflector: Reflector, handler: object): boolean {
  return reflector.get<boolean>(SSE_METADATA, handler as never) === true;
}
