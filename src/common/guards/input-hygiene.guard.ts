import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AppError, FieldError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { unsafeTextReason } from 'src/common/validation/text-hygiene';

/** Deeper bodies are refused: no contract body nests anywhere near this, and validators recurse. */
export const MAX_BODY_DEPTH = 32;
/** At most this many offending fields are listed. */
const MAX_FIELD_ERRORS = 20;

/**
 * Input hygiene at the edge, for every route: a NUL character or an unpaired UTF-16 surrogate in any
 * path parameter, query value, header value, or body field or key (at any depth) is refused with
 * 400 VALIDATION_FAILED naming each field (`title`, `metadata.tags.0`, `query.q`, `path.id`,
 * `header.x-name`). Neither can be stored as PostgreSQL text or JSON, so they must never reach a query
 * (they used to answer 500). A `__proto__` key and bodies nested deeper than MAX_BODY_DEPTH are refused
 * the same way.
 *
 * A guard rather than a middleware because path parameters are only known once the route matched; it is
 * registered first in AppModule, so it runs before any guard that reads the request.
 */
@Injectable()
export class InputHygieneGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<Request>();
    const errors: FieldError[] = [];
    for (const [name, value] of Object.entries(req.params ?? {})) checkTree(value, `path.${name}`, errors);
    for (const [name, value] of Object.entries((req.query ?? {}) as Record<string, unknown>))
      checkTree(value, `query.${name}`, errors, name);
    for (const [name, value] of Object.entries(req.headers)) checkTree(value, `header.${name}`, errors);
    if (req.body !== undefined && req.body !== null && typeof req.body === 'object') checkTree(req.body, '', errors);
    else if (typeof req.body === 'string') checkTree(req.body, 'body', errors);
    if (!errors.length) return true;
    const list = errors.slice(0, MAX_FIELD_ERRORS);
    throw new AppError(
      ErrorCode.VALIDATION_FAILED,
      `Validation failed: ${[...new Set(list.map((e) => e.field))].join(', ')}`,
      {
        fieldErrors: list,
      },
    );
  }
}

/**
 * Walks a parsed value without recursion (a hostile body cannot overflow the stack) and records every
 * string, and every key, that cannot be text. `keyName` is the first key when the root is itself a field.
 */
function checkTree(root: unknown, rootPath: string, errors: FieldError[], keyName?: string): void {
  if (keyName !== undefined) checkKey(keyName, rootPath, errors);
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: rootPath, depth: 0 }];
  while (stack.length && errors.length < MAX_FIELD_ERRORS) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      const reason = unsafeTextReason(value);
      if (reason) errors.push({ field: path || 'body', message: `${path || 'body'} ${reason}` });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) {
      errors.push({
        field: path || 'body',
        message: `${path || 'body'} is nested too deeply (at most ${MAX_BODY_DEPTH} levels)`,
      });
      continue;
    }
    for (const key of Object.keys(value)) {
      const child = path ? `${path}.${key}` : key;
      if (!checkKey(key, child, errors)) continue;
      stack.push({ value: (value as Record<string, unknown>)[key], path: child, depth: depth + 1 });
    }
  }
}

/** False when the key itself is refused (its value is then not inspected). */
function checkKey(key: string, path: string, errors: FieldError[]): boolean {
  const reason = unsafeTextReason(key);
  if (reason) {
    errors.push({ field: sanitize(path), message: `the name of ${sanitize(path)} ${reason}` });
    return false;
  }
  if (key === '__proto__') {
    errors.push({ field: path, message: `${path} is not an allowed property name` });
    return false;
  }
  return true;
}

/** A field name that itself holds NUL or a lone surrogate is echoed with those replaced. */
function sanitize(path: string): string {
  // eslint-disable-next-line no-control-regex -- NUL is what it looks for
  return path.replace(/\u0000/g, '\\u0000').replace(/[\uD800-\uDFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}
