import { randomUUID } from 'node:crypto';
import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { requestContext } from 'src/common/logging/request-context';

export const CORRELATION_HEADER = 'x-correlation-id';
/** A sane correlation id: short, printable, no separators that could forge log lines or headers. */
const SANE = /^[A-Za-z0-9._:-]{1,128}$/;

type WithId = Request & { correlationId?: string };

/**
 * Express-level and first in the chain (so even a body-parser 413 carries it): echoes a sane
 * `X-Correlation-Id` or generates one.
 */
export function assignCorrelationId(req: WithId, res: Response, next: NextFunction): void {
  const incoming = req.headers[CORRELATION_HEADER];
  req.correlationId = typeof incoming === 'string' && SANE.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Correlation-Id', req.correlationId);
  next();
}

/**
 * Runs the rest of the request inside its context so every log line carries the id. It is a Nest
 * middleware, after the body parsers, because their stream callbacks would lose an earlier context.
 */
@Injectable()
export class CorrelationIdMiddleware implements NestMiddleware {
  use(req: WithId, res: Response, next: NextFunction): void {
    if (!req.correlationId) return assignCorrelationId(req, res, () => this.use(req, res, next));
    requestContext.run({ correlationId: req.correlationId }, () => next());
  }
}
