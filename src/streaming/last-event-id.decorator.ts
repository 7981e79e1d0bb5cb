import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { StreamCursor } from 'src/streaming/stream-cursor';

/**
 * Where a client resumes a stream, read once per request: the `Last-Event-ID` header (an EventSource sends
 * it on reconnect), else `?lastEventId=` (for clients that cannot set headers). Both absent, or a value that
 * is not one of our ids (a repeated query parameter included): null, i.e. from the start.
 */
export function lastEventIdOf(req: Pick<Request, 'headers' | 'query'>): StreamCursor | null {
  const header = req.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') return StreamCursor.parse(header);
  const query = req.query?.lastEventId;
  return typeof query === 'string' ? StreamCursor.parse(query) : null;
}

/** The client's resume position (`StreamCursor | null`): see `lastEventIdOf`. */
export const LastEventId = createParamDecorator((_: unknown, ctx: ExecutionContext): StreamCursor | null =>
  lastEventIdOf(ctx.switchToHttp().getRequest<Request>()),
);
