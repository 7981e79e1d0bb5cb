/**
 * Where server-side and upstream failures are written for admins (`GET /api/monitoring/errors`). `common`
 * knows no feature: the exception filter and other modules inject this token; Monitoring provides it.
 */
export interface ErrorLogEntry {
  /** Required for the entry to be visible to anyone: the error log is read per team. */
  teamId: string | null;
  userId?: string | null;
  /** Where it happened: `http` (5xx answered by the filter), `llm` (upstream), `research`, `job`… */
  source: string;
  /** A stable code: an `ErrorCode` or a provider error code. */
  code: string;
  /** Human-readable and safe to show to the team's admins: never secrets, SQL or stack traces. */
  message: string;
  /** Defaults to the current request's correlation id. */
  correlationId?: string | null;
  statusCode?: number | null;
  metadata?: Record<string, unknown>;
}

export interface ErrorSink {
  /** Fire and forget: never throws, never fails the caller. */
  record(entry: ErrorLogEntry): void;
}

export const ERROR_SINK = Symbol('ERROR_SINK');
