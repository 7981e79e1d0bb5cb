import { AppError } from 'src/common/errors/app-error';
import {
  dependencyFailure,
  dependencyUnavailable,
  isDependencyFault,
  requestTimedOut,
} from 'src/common/errors/dependency-failure';
import { ErrorCode } from 'src/common/errors/error-code';

const err = (message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), extra);

describe('dependencyFailure', () => {
  it.each([
    ['pg: connection lost', err('Connection terminated unexpectedly')],
    ['pg: pool cannot connect', err('timeout exceeded when trying to connect')],
    ['pg: refused', err('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })],
    ['pg: admin shutdown (57P01)', err('terminating connection due to administrator command', { code: '57P01' })],
    [
      'pg: not accepting connections (55000 text)',
      err('database "x" is not currently accepting connections', { code: '55000' }),
    ],
    ['pg: connection exception class 08', err('connection failure', { code: '08006' })],
    [
      'typeorm wraps the driver error',
      Object.assign(new Error('wrapped'), { name: 'QueryFailedError', driverError: err('x', { code: '57P03' }) }),
    ],
  ])('classifies %s as the database', (_name, e) => expect(dependencyFailure(e)).toBe('database'));

  it.each([
    ['offline queue off', err("Stream isn't writeable and enableOfflineQueue options is false")],
    [
      'retries exhausted',
      Object.assign(err('Reached the max retries per request limit (which is 1).'), {
        name: 'MaxRetriesPerRequestError',
      }),
    ],
    ['command timeout', err('Command timed out')],
    ['closed', err('Connection is closed.')],
  ])('classifies redis %s', (_name, e) => expect(dependencyFailure(e)).toBe('redis'));

  it.each([
    ['a URIError from a validator', new URIError('URI malformed')],
    ['invalid byte sequence (bad input)', err('invalid byte sequence for encoding "UTF8": 0x00', { code: '22021' })],
    ['unique violation', err('duplicate key value violates unique constraint', { code: '23505' })],
    ['a TypeError (bug)', new TypeError("Cannot read properties of undefined (reading 'id')")],
    [
      'a redis reply error (wrong command)',
      Object.assign(err('ERR wrong number of arguments'), { name: 'ReplyError' }),
    ],
    ['nothing', undefined],
  ])('does not classify %s', (_name, e) => expect(dependencyFailure(e)).toBeNull());
});

describe('isDependencyFault (what a route breaker counts)', () => {
  it('counts unavailable dependencies and timeouts', () => {
    expect(isDependencyFault(err('Connection terminated unexpectedly'))).toBe(true);
    expect(isDependencyFault(dependencyUnavailable('redis'))).toBe(true);
    expect(isDependencyFault(requestTimedOut())).toBe(true);
  });

  it('never counts input errors, client errors or unknown errors', () => {
    expect(isDependencyFault(new URIError('URI malformed'))).toBe(false);
    expect(isDependencyFault(new AppError(ErrorCode.VALIDATION_FAILED, 'bad'))).toBe(false);
    expect(isDependencyFault(new AppError(ErrorCode.INTERNAL, 'bug'))).toBe(false);
    expect(isDependencyFault(new AppError(ErrorCode.UPSTREAM_FAILED, 'llm'))).toBe(false);
    expect(isDependencyFault(new Error('anything'))).toBe(false);
  });

  it('maps the database to 503 DATABASE_UNAVAILABLE and Redis to 503 SERVICE_UNAVAILABLE, both with Retry-After', () => {
    const db = dependencyUnavailable('database');
    expect([db.status, db.code, db.options.retryAfter! > 0]).toEqual([503, ErrorCode.DATABASE_UNAVAILABLE, true]);
    const r = dependencyUnavailable('redis');
    expect([r.status, r.code, r.options.retryAfter! > 0]).toEqual([503, ErrorCode.SERVICE_UNAVAILABLE, true]);
  });
});
