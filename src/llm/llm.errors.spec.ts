import { ErrorCode } from 'src/common/errors/error-code';
import { classifyError, parseRetryAfterMs, summarizeError, timeoutFailure, UpstreamError } from 'src/llm/llm.errors';
import { LlmAgentConfig } from 'src/llm/llm.types';
import { UnsafeUrlError } from 'src/llm/url-safety';

const agent: LlmAgentConfig = { id: 'a1', name: 'A', provider: 'openai', model: 'm', config: {} };
const headers = (h: Record<string, string>) => new Headers(h);

describe('parseRetryAfterMs', () => {
  it('reads delta-seconds, retry-after-ms and HTTP dates', () => {
    expect(parseRetryAfterMs(headers({ 'retry-after': '3' }))).toBe(3000);
    expect(parseRetryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '3' }))).toBe(250);
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfterMs(headers({ 'retry-after': 'Tue, 01 Jan 2030 00:00:05 GMT' }), now)).toBe(5000);
  });

  it('ignores absent or invalid values', () => {
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
    expect(parseRetryAfterMs(headers({}))).toBeUndefined();
    expect(parseRetryAfterMs(headers({ 'retry-after': 'soon' }))).toBeUndefined();
  });
});

describe('classifyError', () => {
  it.each([
    [401, ErrorCode.UPSTREAM_AUTH_FAILED, false],
    [403, ErrorCode.UPSTREAM_AUTH_FAILED, false],
    [429, ErrorCode.UPSTREAM_RATE_LIMITED, true],
    [500, ErrorCode.UPSTREAM_FAILED, true],
    [503, ErrorCode.UPSTREAM_FAILED, true],
    [504, ErrorCode.UPSTREAM_TIMEOUT, true],
    [400, ErrorCode.UPSTREAM_FAILED, false],
    [422, ErrorCode.UPSTREAM_FAILED, false],
  ])('maps HTTP %i to %s (retryable: %s)', (status, code, retryable) => {
    const f = classifyError(new UpstreamError('http', 'x', { status }), agent);
    expect(f.error.code).toBe(code);
    expect(f.retryable).toBe(retryable);
  });

  it('puts Retry-After on UPSTREAM_RATE_LIMITED, in whole seconds', () => {
    const f = classifyError(new UpstreamError('http', 'x', { status: 429, retryAfterMs: 1500 }), agent);
    expect(f.error.options.retryAfter).toBe(2);
    expect(f.retryAfterMs).toBe(1500);
  });

  it('treats transport errors as retryable connection failures', () => {
    const reset = Object.assign(new TypeError('terminated'), {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(classifyError(reset, agent)).toMatchObject({ retryable: true, error: { code: ErrorCode.UPSTREAM_FAILED } });
    expect(classifyError(new TypeError('fetch failed'), agent).retryable).toBe(true);
  });

  it('treats malformed data as a non-retryable protocol failure', () => {
    expect(classifyError(new SyntaxError('Unexpected end of JSON input'), agent)).toMatchObject({
      retryable: false,
      error: { code: ErrorCode.UPSTREAM_FAILED },
    });
  });

  it('does not count a refused URL or a missing key against the breaker', () => {
    expect(classifyError(new UnsafeUrlError('private'), agent).countsForBreaker).toBe(false);
    expect(classifyError(new UpstreamError('config', 'no key'), agent).countsForBreaker).toBe(false);
  });

  it('never copies the upstream message into the public error', () => {
    const f = classifyError(
      new UpstreamError('http', 'raw body with sk-123', { status: 500, cause: new Error('sk-123') }),
      agent,
    );
    expect(f.error.message).not.toContain('sk-123');
    expect(JSON.stringify(f.error)).not.toContain('sk-123');
  });

  it('summarizes errors for logs without their message', () => {
    const e = Object.assign(new Error('secret text'), { code: 'ECONNRESET' });
    expect(summarizeError(e)).toBe('Error ECONNRESET');
  });
});

describe('timeoutFailure', () => {
  it('retries connect and first-token timeouts, never idle ones', () => {
    expect(timeoutFailure('connect', agent).retryable).toBe(true);
    expect(timeoutFailure('first_token', agent).retryable).toBe(true);
    expect(timeoutFailure('idle', agent)).toMatchObject({
      retryable: false,
      error: { code: ErrorCode.UPSTREAM_TIMEOUT },
    });
  });
});
