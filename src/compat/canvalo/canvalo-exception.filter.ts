import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { translateError } from 'src/compat/canvalo/canvalo.mapper';

/** Canvalo's error body `{error: {code, message, userMessage, suggestedActions, retryable}}` on its routes. */
@Catch()
export class CanvaloExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('CanvaloExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const e = translateError(exception instanceof HttpException ? httpToAppError(exception) : exception);
    if (e.status === 500) this.logger.error({ err: exception }, 'Unhandled error');
    if (res.headersSent) {
      res.end();
      return;
    }
    if (e.retryable && (e.status === 429 || e.status === 503)) res.setHeader('Retry-After', '1');
    const { status, ...error } = e;
    res.status(status).json({ error });
  }
}

function httpToAppError(e: HttpException): AppError {
  const status = e.getStatus();
  if (status === 404) return AppError.notFound('Route');
  if (status === 429) return new AppError(ErrorCode.RATE_LIMITED, 'Too many requests');
  if (status < 500) return new AppError(ErrorCode.BAD_REQUEST, e.message);
  return new AppError(ErrorCode.INTERNAL, 'Internal server error');
}
