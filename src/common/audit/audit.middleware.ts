import { Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { AuthUser } from 'src/common/auth-user';
import { AuditService } from 'src/common/audit/audit.service';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Gathers who/what/when/how long/from where for every request once the response is finished.
 * Mutating requests are persisted through AuditService; reads only go to the log.
 */
@Injectable()
export class AuditMiddleware implements NestMiddleware {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly audit: AuditService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const user = (req as Request & { user?: AuthUser }).user;
      // Requests made with a team API key (ApiKeyGuard) carry the key instead of a user.
      const apiKey = (req as Request & { apiKey?: { keyId: string; teamId: string } }).apiKey;
      const routePath = (req.route as { path?: string } | undefined)?.path;
      const route = routePath ? `${req.baseUrl ?? ''}${routePath}` : null;
      const durationMs = Number((process.hrtime.bigint() - started) / 1_000_000n);
      const fact = {
        method: req.method,
        route,
        statusCode: res.statusCode,
        durationMs,
        ip: req.ip ?? null,
        userAgent: req.get('user-agent')?.slice(0, 500) ?? null,
        userId: user?.id ?? null,
        teamId: user?.teamId ?? apiKey?.teamId ?? null,
      };
      this.logger.log(
        { ...fact, path: route ?? req.path },
        `${req.method} ${route ?? req.path} ${res.statusCode} ${durationMs}ms`,
      );
      if (!SAFE_METHODS.has(req.method) && route) {
        void this.audit.record({
          action: 'http.request',
          ...fact,
          ...(apiKey ? { metadata: { apiKeyId: apiKey.keyId } } : {}),
        });
      }
    });
    next();
  }
}
