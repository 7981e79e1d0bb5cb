import { LoggerService } from '@nestjs/common';
import pino, { Logger as Pino } from 'pino';
import { requestContext } from 'src/common/logging/request-context';

/** Paths pino censors wherever they appear in a log object. */
export const REDACT_PATHS = [
  'authorization',
  'cookie',
  'password',
  'newPassword',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'webhookToken',
  'secret',
  '*.authorization',
  '*.cookie',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.apiKey',
  '*.webhookToken',
  '*.secret',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

export function createPino(level: string, destination?: pino.DestinationStream): Pino {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
      // Every line carries the request's correlation id (and caller) when there is one.
      mixin() {
        const ctx = requestContext.getStore();
        return ctx ? { correlationId: ctx.correlationId, userId: ctx.userId, teamId: ctx.teamId } : {};
      },
    },
    destination,
  );
}

/** Nest's LoggerService over pino: structured JSON lines, `context` = the class name. */
export class AppLogger implements LoggerService {
  constructor(readonly pino: Pino) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: pino.Level, message: unknown, rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const obj: Record<string, unknown> = { context };
    // `logger.log({ ...fields }, 'summary')` (pino's order): the string is the message. Otherwise a string
    // after the message is the stack Nest passes as the second argument of error().
    const fields = message && typeof message === 'object' && !(message instanceof Error);
    let msg: string | undefined;
    for (const extra of rest) {
      if (typeof extra === 'string') {
        if (fields && msg === undefined) msg = extra;
        else obj.stack = extra;
      } else if (extra instanceof Error) obj.err = extra;
      else if (extra && typeof extra === 'object') Object.assign(obj, extra);
    }
    if (message instanceof Error) this.pino[level]({ ...obj, err: message }, message.message);
    else if (fields) this.pino[level]({ ...obj, ...message }, msg);
    else this.pino[level](obj, String(message));
  }
}
