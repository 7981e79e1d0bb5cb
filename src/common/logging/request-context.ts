import { AsyncLocalStorage } from 'node:async_hooks';

/** Per-request facts every log line and error body can reach without passing them around. */
export interface RequestContext {
  correlationId: string;
  userId?: string;
  teamId?: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export const currentCorrelationId = (): string | undefined => requestContext.getStore()?.correlationId;
