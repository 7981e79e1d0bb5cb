import { ErrorCode, ERROR_STATUS } from 'src/common/errors/error-code';

export interface FieldError {
  field: string;
  message: string;
}

export interface AppErrorOptions {
  fieldErrors?: FieldError[];
  suggestion?: string;
  /** Seconds; sent as the Retry-After header (429 and 503 must carry it). */
  retryAfter?: number;
  /** Extra details merged into the body's `details`. Never put internals here. */
  details?: Record<string, unknown>;
}

/**
 * The one domain error. Services throw it with a stable code; the global filter turns it into the
 * contract's body. Features keep their own factories in `<feature>.errors.ts`.
 */
export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: AppErrorOptions = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }

  static notFound(what: string): AppError {
    return new AppError(ErrorCode.NOT_FOUND, `${what} not found`);
  }
}
