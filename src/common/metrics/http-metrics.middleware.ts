import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { MetricsService } from 'src/common/metrics/metrics.service';

/** Label for requests that matched no route (404s of unknown paths, scanners): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/** The route template of a finished request (`/api/chats/:id`), or `unmatched`. */
export function routeTemplate(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl ?? ''}${path}` : UNMATCHED_ROUTE;
}

/**
 * Records every finished request in the HTTP duration histogram (method, route template, status) and counts
 * 429s as throttled requests. SSE responses are left out of the histogram: their duration is the life of
 * the connection, which the SSE gauges describe.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const route = routeTemplate(req);
      if (res.statusCode === 429) this.metrics.throttledRequest(route);
      if (String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')) return;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.httpRequest(req.method, route, res.statusCode, seconds);
    });
    next();
  }
}
