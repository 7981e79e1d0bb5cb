import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { LlmAgentConfig } from 'src/llm/llm.types';
import { UnsafeUrlError } from 'src/llm/url-safety';

/**
 * Errors of the provider layer. Adapters throw `UpstreamError` (internal, may carry an SDK error as
 * `cause`); LlmService turns every failure into an `AppError` with a stable code and a friendly message.
 * Raw upstream bodies and secrets never reach an AppError: messages are fixed strings chosen here.
 */
export type UpstreamErrorKind = 'http' | 'connection' | 'protocol' | 'timeout' | 'config';

export interface UpstreamErrorOptions {
  /** HTTP status of the upstream response, when there was one. */
  status?: number;
  /** Parsed Retry-After (or retry-after-ms), in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** Thrown by adapters. The message is for logs only and must not contain secrets. */
export class UpstreamError extends Error {
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    options: UpstreamErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UpstreamError';
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export type TimeoutPhase = 'connect' | 'first_token' | 'idle';

/** The failure of one attempt, already mapped to the public error, plus what the retry loop needs. */
export class AttemptFailure extends Error {
  constructor(
    readonly error: AppError,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
    /** false for failures that say nothing about the upstream's health (a refused URL, a missing key). */
    readonly countsForBreaker = true,
    /** For logs: what went wrong underneath, without messages (see summarizeError). */
    readonly summary = '',
  ) {
    super(error.message);
    this.name = 'AttemptFailure';
  }
}

/**
 * A log-safe description of an error: its type, kind, status and system code, never its message
 * (upstream error bodies can echo API keys).
 */
export function summarizeError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return typeof err;
  const e = err as { kind?: string; status?: number };
  const parts: (string | number | undefined)[] = [nameOf(err), e.kind, e.status, errorCode(err)];
  return parts.filter((p) => p !== undefined && p !== '').join(' ');
}

/** Internal wrapper for "the caller aborted": never counted by the breaker, unwrapped to `reason`. */
export class CallerAbort extends Error {
  constructor(readonly reason: unknown) {
    super('aborted by the caller');
    this.name = 'CallerAbort';
  }
}

/**
 * The error's `name`. Checked by name rather than `instanceof` because errors raised by Node's built-in
 * fetch (undici) come from another realm under jest, and DOMException is not an Error subclass there.
 */
function nameOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const name = (err as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

function messageOf(err: unknown): string {
  const m = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof m === 'string' ? m : '';
}

/** True for the errors an aborted fetch/SDK call throws (DOMException AbortError, APIUserAbortError). */
export function isAbortError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const name = nameOf(err);
  return name === 'AbortError' || name === 'APIUserAbortError' || err.constructor?.name === 'APIUserAbortError';
}

const TIMEOUT_MESSAGES: Record<TimeoutPhase, string> = {
  connect: 'The AI provider could not be reached in time.',
  first_token: 'The AI provider did not start answering in time.',
  idle: 'The AI provider stopped sending its answer.',
};

function details(agent: LlmAgentConfig, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { agentId: agent.id, provider: agent.provider, ...extra };
}

/** Connect and first-token timeouts are retried; an idle timeout happens after the first delta, never retried. */
export function timeoutFailure(phase: TimeoutPhase, agent: LlmAgentConfig): AttemptFailure {
  const error = new AppError(ErrorCode.UPSTREAM_TIMEOUT, TIMEOUT_MESSAGES[phase], {
    details: details(agent, { phase }),
  });
  return new AttemptFailure(error, phase !== 'idle', undefined, true, `timeout ${phase}`);
}

/** The client-facing errors of the provider layer that are not an attempt's failure (see classifyError). */
export const LlmErrors = {
  circuitOpen: (agent: LlmAgentConfig, retryAfterSec: number) =>
    new AppError(
      ErrorCode.CIRCUIT_OPEN,
      'The AI provider for this agent is temporarily unavailable after repeated failures.',
      {
        retryAfter: retryAfterSec,
        details: details(agent),
      },
    ),
  noAgent: () => new AppError(ErrorCode.UPSTREAM_FAILED, 'No AI agent is configured for this request.'),
};

function httpFailure(status: number, retryAfterMs: number | undefined, agent: LlmAgentConfig): AttemptFailure {
  const d = details(agent, { upstreamStatus: status });
  if (status === 401 || status === 403) {
    return new AttemptFailure(
      new AppError(ErrorCode.UPSTREAM_AUTH_FAILED, "The AI provider rejected the agent's credentials.", { details: d }),
      false,
    );
  }
  if (status === 429) {
    const retryAfter = retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(retryAfterMs / 1000));
    const error = new AppError(
      ErrorCode.UPSTREAM_RATE_LIMITED,
      'The AI provider is rate limiting requests; try again later.',
      { retryAfter, details: d },
    );
    return new AttemptFailure(error, true, retryAfterMs);
  }
  if (status === 408 || status === 504) {
    return new AttemptFailure(
      new AppError(ErrorCode.UPSTREAM_TIMEOUT, 'The AI provider timed out.', { details: d }),
      true,
      retryAfterMs,
    );
  }
  const retryable = status >= 500;
  const message = retryable
    ? `The AI provider failed (HTTP ${status}).`
    : `The AI provider refused the request (HTTP ${status}).`;
  return new AttemptFailure(new AppError(ErrorCode.UPSTREAM_FAILED, message, { details: d }), retryable, retryAfterMs);
}

const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function isConnectionError(err: unknown): boolean {
  const code = errorCode(err);
  if (code && CONNECTION_CODES.has(code)) return true;
  // undici: "fetch failed" (could not connect) and "terminated" (the body was cut off).
  return nameOf(err) === 'TypeError' && /fetch failed|terminated|other side closed|socket/i.test(messageOf(err));
}

/**
 * Maps anything an adapter threw to an AttemptFailure. The caller's abort and our own timeouts are
 * recognised before this is called (UpstreamAttempt), so an abort seen here came from the transport.
 */
export function classifyError(err: unknown, agent: LlmAgentConfig): AttemptFailure {
  if (err instanceof AttemptFailure) return err;
  const f = classify(err, agent);
  return new AttemptFailure(f.error, f.retryable, f.retryAfterMs, f.countsForBreaker, summarizeError(err));
}

function classify(err: unknown, agent: LlmAgentConfig): AttemptFailure {
  if (err instanceof UnsafeUrlError) {
    const error = new AppError(ErrorCode.UPSTREAM_FAILED, "The agent's endpoint address is not allowed.", {
      details: details(agent),
    });
    return new AttemptFailure(error, false, undefined, false);
  }
  if (err instanceof UpstreamError) {
    switch (err.kind) {
      case 'http':
        if (err.status !== undefined) return httpFailure(err.status, err.retryAfterMs, agent);
        return new AttemptFailure(
          new AppError(ErrorCode.UPSTREAM_FAILED, 'The AI provider reported an error.', { details: details(agent) }),
          false,
        );
      case 'timeout':
        return new AttemptFailure(
          new AppError(ErrorCode.UPSTREAM_TIMEOUT, 'The AI provider timed out.', { details: details(agent) }),
          true,
        );
      case 'connection':
        return connectionFailure(agent);
      case 'config':
        return new AttemptFailure(
          new AppError(ErrorCode.UPSTREAM_FAILED, 'The agent is not configured correctly.', {
            details: details(agent),
          }),
          false,
          undefined,
          false,
        );
      case 'protocol':
        return protocolFailure(agent);
    }
  }
  if (isConnectionError(err)) return connectionFailure(agent);
  if (isAbortError(err) || nameOf(err) === 'TimeoutError') {
    return new AttemptFailure(
      new AppError(ErrorCode.UPSTREAM_TIMEOUT, 'The AI provider timed out.', { details: details(agent) }),
      true,
    );
  }
  if (nameOf(err) === 'SyntaxError') return protocolFailure(agent);
  return new AttemptFailure(
    new AppError(ErrorCode.UPSTREAM_FAILED, 'The AI provider call failed unexpectedly.', { details: details(agent) }),
    false,
  );
}

function connectionFailure(agent: LlmAgentConfig): AttemptFailure {
  return new AttemptFailure(
    new AppError(ErrorCode.UPSTREAM_FAILED, 'The connection to the AI provider failed.', { details: details(agent) }),
    true,
  );
}

function protocolFailure(agent: LlmAgentConfig): AttemptFailure {
  const error = new AppError(
    ErrorCode.UPSTREAM_FAILED,
    'The AI provider sent a response that could not be understood.',
    { details: details(agent) },
  );
  return new AttemptFailure(error, false);
}

interface HeaderBag {
  get(name: string): string | null;
}

/** Retry-After as milliseconds: `retry-after-ms`, delta-seconds or an HTTP date. undefined if absent/invalid. */
export function parseRetryAfterMs(headers: HeaderBag | null | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** For log lines: the message with the secret masked, cut to a sane length. */
export function redact(text: string, secret?: string | null): string {
  let out = text;
  if (secret && secret.length >= 4) out = out.split(secret).join('[REDACTED]');
  return out.length > 300 ? `${out.slice(0, 300)}…` : out;
}
