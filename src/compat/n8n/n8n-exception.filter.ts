import { ArgumentsHost, Catch, ExceptionFilter, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { AllExceptionsFilter } from 'src/common/filters/all-exceptions.filter';
import type { ErrorBodyDto } from 'src/common/filters/error-body';
import { ErrorCode } from 'src/common/errors/error-code';

/** FastAPI's validation item: `{loc, msg, type}`, `loc` starting with where the field was (`body`). */
export interface N8nValidationItem {
  loc: string[];
  msg: string;
  type: string;
}

const snake = (field: string): string =>
  field
    .split('.')
    .map((part) => part.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`))
    .join('.');

/**
 * The n8n chat backend is FastAPI: its frontend reads `{detail}`. The canonical filter does all the work
 * (status, logging, error trail, Retry-After); this one only rewrites its body as FastAPI would: a
 * validation failure naming fields is 422 with `detail: [{loc: ['body', field], msg, type}]` (field names
 * in the seed's snake_case), anything else `{detail: message}` with the canonical status.
 */
@Injectable()
@Catch()
export class N8nExceptionFilter implements ExceptionFilter {
  constructor(private readonly canonical: AllExceptionsFilter) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const json = res.json.bind(res);
    res.json = (body: ErrorBodyDto) => {
      const fieldErrors = body.details?.fieldErrors;
      if (body.error === ErrorCode.VALIDATION_FAILED && fieldErrors?.length) {
        const detail: N8nValidationItem[] = fieldErrors.map((f) => ({
          loc: ['body', ...snake(f.field).split('.')],
          msg: f.message.split(f.field).join(snake(f.field)),
          type: 'value_error',
        }));
        res.status(422);
        return json({ detail });
      }
      return json({ detail: body.message });
    };
    this.canonical.catch(exception, host);
  }
}
