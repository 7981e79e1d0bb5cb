import { createHash, timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { MonitoringErrors } from 'src/monitoring/monitoring.errors';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * `Authorization: Bearer <METRICS_TOKEN>` check, compared in constant time (both sides hashed first, so the
 * length leaks nothing either). No token configured: everything passes. Throws 401 with the contract body.
 */
export class MetricsTokenCheck {
  private readonly expected?: Buffer;

  constructor(token: string | undefined) {
    this.expected = token ? digest(token) : undefined;
  }

  assert(authorization: string | undefined): void {
    if (!this.expected) return;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (match && timingSafeEqual(digest(match[1]), this.expected)) return;
    throw MonitoringErrors.metricsTokenRequired();
  }
}

/**
 * `/metrics` on the main port. 404 when it is not served there: on a separate listener (METRICS_PORT), or
 * in production with neither METRICS_TOKEN nor METRICS_PORT (never public by default). Otherwise open when
 * `METRICS_TOKEN` is unset (development), else the bearer token is required.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly check: MetricsTokenCheck;
  private readonly servedHere: boolean;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.check = new MetricsTokenCheck(config.metricsToken);
    this.servedHere = config.metrics.enabled && config.metrics.port === undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.servedHere) {
      throw MonitoringErrors.metricsNotServedHere();
    }
    this.check.assert(context.switchToHttp().getRequest<Request>().headers.authorization);
    return true;
  }
}
