import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

export type Dependency = 'database' | 'redis';

/** Seconds a client is told to wait when a dependency is unavailable. */
export const DEPENDENCY_RETRY_AFTER_SEC: Record<Dependency, number> = { database: 5, redis: 1 };

/** PostgreSQL SQLSTATEs that say the server cannot be used right now (not that the query was wrong). */
const PG_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '53000', '58000', '58030']);
/** Node socket errors: a connection could not be made or was lost. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const PG_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /Client has encountered a connection error/,
  /Cannot use a pool after calling end/,
  /terminating connection due to administrator command/,
  /the database system is (starting up|shutting down|in recovery mode)/,
  /database ".*" is not currently accepting connections/,
  /Connection is not established/,
];
const REDIS_MESSAGES = [
  /enableOfflineQueue options is false/,
  /^Connection is closed\.?$/,
  /^Command timed out$/,
  /Reached the max retries per request limit/,
  /^Redis is unavailable/,
];

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  driverError?: unknown;
  cause?: unknown;
}

/**
 * Which dependency an error says is unavailable (PostgreSQL or Redis down, unreachable, or restarting),
 * or null for anything else: a wrong query, a bad input, a bug. Only these count against a route's
 * circuit breaker, and the filter answers them with 503 instead of 500.
 */
export function dependencyFailure(err: unknown, depth = 0): Dependency | null {
  if (!err || typeof err !== 'object' || depth > 3) return null;
  const e = err as ErrorLike;
  if (err instanceof AppError) return (err.options.details?.dependency as Dependency | undefined) ?? null;
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : '';
  const code = typeof e.code === 'string' ? e.code : '';
  if (name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.some((r) => r.test(message))) return 'redis';
  if (code.startsWith('08') && code.length === 5) return 'database';
  if (PG_UNAVAILABLE_STATES.has(code)) return 'database';
  if (PG_MESSAGES.some((r) => r.test(message))) return 'database';
  // ioredis never rejects a command with a raw socket error (it retries, then flushes with the errors
  // above); a raw one in a request comes from the database pool. Upstream calls wrap theirs in AppError.
  if (SOCKET_CODES.has(code)) return 'database';
  return dependencyFailure(e.driverError, depth + 1) ?? dependencyFailure(e.cause, depth + 1);
}

/** The contract's 503 for an unavailable dependency: DATABASE_UNAVAILABLE or SERVICE_UNAVAILABLE, with Retry-After. */
export function dependencyUnavailable(dependency: Dependency): AppError {
  return dependency === 'database'
    ? new AppError(ErrorCode.DATABASE_UNAVAILABLE, 'The database is unavailable; retry shortly', {
        retryAfter: DEPENDENCY_RETRY_AFTER_SEC.database,
        details: { dependency },
      })
    : new AppError(
        ErrorCode.SERVICE_UNAVAILABLE,
        'A service this request needs (Redis) is unavailable; retry shortly',
        {
          retryAfter: DEPENDENCY_RETRY_AFTER_SEC.redis,
          details: { dependency },
        },
      );
}

/** The request timed out in the pipeline: a 503 that counts against the route breaker. */
export function requestTimedOut(): AppError {
  return new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'The request took too long', {
    retryAfter: 1,
    details: { reason: 'timeout' },
  });
}

/**
 * What a route breaker counts: an unavailable dependency or a timeout. Never an error caused by the
 * request's input, and never an unknown error (a bug that one crafted request can trigger must not let
 * that request shut the route for everyone).
 */
export function isDependencyFault(err: unknown): boolean {
  if (err instanceof AppError)
    return Boolean(err.options.details?.dependency) || err.options.details?.reason === 'timeout';
  return dependencyFailure(err) !== null;
}
