import { createHash, timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG, AppConfig } from 'src/config/env';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * `/metrics` is open when `METRICS_TOKEN` is unset; otherwise it needs `Authorization: Bearer <token>`,
 * compared in constant time (both sides hashed first, so the length leaks nothing either).
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.expected = config.metricsToken ? digest(config.metricsToken) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match && timingSafeEqual(digest(match[1]), this.expected)) return true;
    throw new AppError(ErrorCode.UNAUTHORIZED, 'A valid metrics token is required', {
      suggestion: 'Send Authorization: Bearer <METRICS_TOKEN>.',
    });
  }
}
