import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject, Logger } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { AppError } from 'src/common/errors/app-error';
import { dependencyFailure, dependencyUnavailable } from 'src/common/errors/dependency-failure';
import { ErrorCode } from 'src/common/errors/error-code';
import type { ErrorBodyDto } from 'src/common/filters/error-body';
import { currentCorrelationId } from 'src/common/logging/request-context';
import { ERROR_SINK, type ErrorSink } from 'src/common/metrics/error-sink';

/** Status → code for errors that do not come as AppError (framework, body parser, multer). */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.BAD_REQUEST,
  401: ErrorCode.UNAUTHORIZED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  405: ErrorCode.NOT_FOUND,
  409: ErrorCode.CONFLICT,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.RATE_LIMITED,
  503: ErrorCode.SERVICE_UNAVAILABLE,
};

const SUGGESTIONS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.VALIDATION_FAILED]: 'Fix the listed fields and send the request again.',
  [ErrorCode.INVALID_CURSOR]:
    'Send the nextCursor of the previous page of this list unchanged, or no cursor for the first page.',
  [ErrorCode.PAYLOAD_TOO_LARGE]: 'Send a smaller body.',
  [ErrorCode.UNAUTHORIZED]: 'Log in again or refresh the access token.',
  [ErrorCode.RATE_LIMITED]: 'Wait for the Retry-After interval before retrying.',
  [ErrorCode.CIRCUIT_OPEN]: 'The service is recovering; retry after the Retry-After interval.',
  [ErrorCode.DATABASE_UNAVAILABLE]: 'The database is unreachable; retry after the Retry-After interval.',
  [ErrorCode.INTERNAL]: 'Retry later; quote the correlation id when reporting the problem.',
};

/** Errors raised by body-parser carry `type`, `status` and `expose`. */
interface HttpLikeError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  message?: string;
}

export interface Normalised {
  status: number;
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
  retryAfter?: number;
  /** Set when the error says a dependency (database, Redis) is unavailable. */
  dependency?: string;
}

/**
 * The one exception filter: every error from every layer leaves as the contract's body. Anything
 * unexpected is a 500 that names only the correlation id; its stack goes to the log, never to the client.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ExceptionFilter');
  private lastDependencyWarning = 0;

  /** `errorSink`: the error log admins read (Monitoring provides it); 5xx of authenticated requests go there. */
  constructor(@Inject(ERROR_SINK) private readonly errorSink: ErrorSink) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request & { correlationId?: string }>();
    const n = this.normalise(exception);
    const correlationId = req?.correlationId ?? currentCorrelationId() ?? 'unknown';

    if (n.status >= 500 && n.code === ErrorCode.INTERNAL) {
      this.logger.error({ err: exception, method: req?.method, path: req?.originalUrl }, 'Unhandled error');
    } else if (n.dependency && Date.now() - this.lastDependencyWarning > 5000) {
      // One line every few seconds while a dependency is down, not one per refused request.
      this.lastDependencyWarning = Date.now();
      this.logger.warn(
        { dependency: n.dependency, reason: (exception as Error)?.message },
        'dependency unavailable: answering 503',
      );
    }
    if (n.status >= 500) this.recordError(exception, n, req, correlationId);
    if (res.headersSent) {
      // A stream already under way: the body is not ours to replace. End it so the client can resume.
      res.end();
      return;
    }
    if (n.retryAfter !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(n.retryAfter))));
    res.status(n.status).json(this.body(n, correlationId));
  }

  /** The response body; a compatibility surface overrides it with its system's error shape. */
  protected body(n: Normalised, correlationId: string): unknown {
    const suggestion = SUGGESTIONS[n.code];
    const body: ErrorBodyDto = {
      statusCode: n.status,
      error: n.code,
      message: n.message,
      details: { ...(suggestion ? { suggestion } : {}), ...n.details },
      timestamp: new Date().toISOString(),
      correlationId,
    };
    return body;
  }

  private recordError(exception: unknown, n: Normalised, req: Request | undefined, correlationId: string): void {
    const user = (req as (Request & { user?: { id?: string; teamId?: string } }) | undefined)?.user;
    // Refusals (drain, open breaker) are consequences, not failures: the metrics count them.
    if (!user?.teamId || n.code === ErrorCode.SERVICE_UNAVAILABLE || n.code === ErrorCode.CIRCUIT_OPEN) return;
    // The error log lives in the database: do not try to write there while it is the thing that is down.
    if (n.code === ErrorCode.DATABASE_UNAVAILABLE) return;
    const routePath = (req?.route as { path?: string } | undefined)?.path;
    const route = routePath ? `${req?.baseUrl ?? ''}${routePath}` : null;
    const errorName = exception instanceof Error ? exception.name : typeof exception;
    this.errorSink.record({
      teamId: user.teamId,
      userId: user.id ?? null,
      source: 'http',
      code: n.code,
      message: n.message,
      statusCode: n.status,
      correlationId,
      metadata: { method: req?.method, route, errorName },
    });
  }

  private normalise(e: unknown): Normalised {
    const dependency = dependencyFailure(e);
    if (dependency && !(e instanceof AppError))
      return { ...this.normalise(dependencyUnavailable(dependency)), dependency };
    if (e instanceof AppError) {
      const { fieldErrors, suggestion, details, retryAfter } = e.options;
      return {
        status: e.status,
        code: e.code,
        message: e.message,
        details: { ...(details ?? {}), ...(fieldErrors ? { fieldErrors } : {}), ...(suggestion ? { suggestion } : {}) },
        retryAfter: retryAfter ?? (e.status === 429 || e.status === 503 ? 1 : undefined),
        ...(dependency ? { dependency } : {}),
      };
    }
    if (e instanceof ThrottlerException) {
      return { status: 429, code: ErrorCode.RATE_LIMITED, message: 'Too many requests', details: {}, retryAfter: 1 };
    }
    if (e instanceof HttpException) {
      const status = e.getStatus();
      const code = CODE_BY_STATUS[status] ?? (status >= 500 ? ErrorCode.INTERNAL : ErrorCode.BAD_REQUEST);
      const message = status >= 500 ? 'Internal server error' : this.httpMessage(e);
      return { status, code, message, details: {}, retryAfter: status === 429 || status === 503 ? 1 : undefined };
    }
    const httpLike = e as HttpLikeError | null;
    const status = httpLike?.status ?? httpLike?.statusCode;
    if (httpLike && typeof status === 'number' && status >= 400 && status < 500 && httpLike.expose !== false) {
      if (httpLike.type === 'entity.parse.failed') {
        return { status: 400, code: ErrorCode.BAD_REQUEST, message: 'Malformed JSON in request body', details: {} };
      }
      if (httpLike.type === 'entity.too.large') {
        return { status: 413, code: ErrorCode.PAYLOAD_TOO_LARGE, message: 'Request body is too large', details: {} };
      }
      const code = CODE_BY_STATUS[status] ?? ErrorCode.BAD_REQUEST;
      return { status, code, message: httpLike.message ?? 'Bad request', details: {} };
    }
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      code: ErrorCode.INTERNAL,
      message: 'Internal server error',
      details: {},
    };
  }

  private httpMessage(e: HttpException): string {
    const r = e.getResponse();
    if (typeof r === 'string') return r;
    const m = (r as { message?: unknown }).message;
    if (Array.isArray(m)) return m.join('; ');
    return typeof m === 'string' ? m : e.message;
  }
}
