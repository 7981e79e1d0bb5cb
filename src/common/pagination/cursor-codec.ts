import { createHash } from 'node:crypto';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** How a cursor value is checked when it comes back (and cast in SQL, see keyset.ts). */
export type CursorValueType = 'timestamptz' | 'uuid' | 'bigint' | 'text';

const VALUE_PATTERNS: Record<CursorValueType, RegExp> = {
  // PostgreSQL's `timestamptz::text` (ISO DateStyle) or an ISO-8601 instant.
  timestamptz: /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d(:?\d\d){0,2})?$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  bigint: /^\d{1,19}$/,
  // eslint-disable-next-line no-control-regex -- any text without NUL
  text: /^[^\u0000]{1,200}$/,
};

/** A cursor longer than this is not one of ours (ours are under 150 characters). */
const MAX_CURSOR_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** 400 INVALID_CURSOR: `?cursor=` is not a `nextCursor` this list returned. */
export const invalidCursor = (): AppError =>
  new AppError(ErrorCode.INVALID_CURSOR, 'Invalid cursor', {
    fieldErrors: [{ field: 'cursor', message: 'cursor must be a nextCursor returned by this endpoint' }],
  });

/** 72 bits of SHA-256 over the list name and the payload: a changed byte or another list's cursor does not match. */
function checkOf(list: string, payload: string): string {
  return createHash('sha256').update(`${list}\n${payload}`).digest().subarray(0, 9).toString('base64url');
}

/**
 * The one opaque page cursor: the sort key of a page's last row, for one named list.
 * Format: `base64url(JSON array of the key's values)` `.` `check`, where the check binds the cursor to
 * its list. A garbage, edited or foreign (another list's) cursor is refused with INVALID_CURSOR. The
 * check is an integrity check, not a secret: a cursor only positions a page inside rows the caller may
 * read anyway (every list is scoped by team in SQL).
 */
export class CursorCodec {
  constructor(
    /** Names the list; a cursor of another list is refused. */
    readonly list: string,
    readonly types: readonly CursorValueType[],
  ) {}

  encode(values: readonly string[]): string {
    if (values.length !== this.types.length)
      throw new Error(`cursor of ${this.list}: ${values.length} values for ${this.types.length} columns`);
    const payload = JSON.stringify(values);
    return `${Buffer.from(payload, 'utf8').toString('base64url')}.${checkOf(this.list, payload)}`;
  }

  /** The key values of a cursor this codec encoded; INVALID_CURSOR for anything else. */
  decode(cursor: string): string[] {
    const values = this.tryDecode(cursor);
    if (!values) throw invalidCursor();
    return values;
  }

  private tryDecode(cursor: string): string[] | null {
    if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH) return null;
    const [body, check, extra] = cursor.split('.');
    if (extra !== undefined || !body || !check || !BASE64URL.test(body) || !BASE64URL.test(check)) return null;
    const payload = Buffer.from(body, 'base64url').toString('utf8');
    // Only the canonical encoding: a changed trailing character that decodes to the same bytes is refused too.
    if (Buffer.from(payload, 'utf8').toString('base64url') !== body) return null;
    if (checkOf(this.list, payload) !== check) return null;
    let values: unknown;
    try {
      values = JSON.parse(payload);
    } catch {
      return null;
    }
    if (!Array.isArray(values) || values.length !== this.types.length) return null;
    const ok = values.every((v, i) => typeof v === 'string' && VALUE_PATTERNS[this.types[i]].test(v));
    return ok ? (values as string[]) : null;
  }
}
