import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface LogCursor {
  createdAt: Date;
  id: string;
}

/** Keyset page cursor over (createdAt, id), opaque to clients. */
export function encodeLogCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`, 'utf8').toString('base64url');
}

export function decodeLogCursor(cursor: string): LogCursor {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || !UUID.test(id) || Number.isNaN(createdAt.getTime())) {
    throw new AppError(ErrorCode.VALIDATION_FAILED, 'Validation failed: cursor', {
      fieldErrors: [{ field: 'cursor', message: 'cursor is not a valid page cursor' }],
    });
  }
  return { createdAt, id };
}

/** `from`/`to` query values (already validated as ISO-8601) as Dates. */
export const optionalDate = (v?: string): Date | undefined => (v ? new Date(v) : undefined);

/** `{items, nextCursor}` from `limit + 1` rows. */
export function toPage<R extends { createdAt: Date; id: string }, D>(rows: R[], limit: number, map: (r: R) => D): { items: D[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page.map(map), nextCursor: rows.length > limit && last ? encodeLogCursor(last) : null };
}
