import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { openAiErrorBody, toOpenAiError } from 'src/openai-compat/openai-errors';

/**
 * The /v1 controllers' filter (scoped with @UseFilters, so the contract's filter keeps every other route):
 * errors leave in OpenAI's body and status. A stream under way is ended (its error frame, if any, was
 * written by the stream writer).
 */
@Catch()
export class OpenAiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OpenAiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const e = toOpenAiError(exception);
    if (e.status >= 500 && e.type === 'server_error' && e.code === null) {
      this.logger.error({ err: exception, method: req?.method, path: req?.originalUrl }, 'Unhandled error');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    if (e.retryAfter !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(e.retryAfter))));
    res.status(e.status).json(openAiErrorBody(e));
  }
}
