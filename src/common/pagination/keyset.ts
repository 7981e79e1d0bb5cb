import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { CursorCodec, type CursorValueType } from 'src/common/pagination/cursor-codec';

/** A page of a list: the contract's `{items, nextCursor}` (docs/api.md, Conventions). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** What a caller asks of a list: `?limit=` and `?cursor=` (the previous page's nextCursor). */
export interface PageRequest {
  limit: number;
  cursor?: string | null;
}

export interface KeyColumn {
  /** SQL expression of the sort column (`c.created_at`). */
  expr: string;
  type: CursorValueType;
}

/**
 * The sort order of one list: its key columns (the last one unique, usually the id) and one direction.
 * It owns the list's cursor codec, so a cursor is always read with the columns that wrote it.
 */
export class Keyset {
  readonly codec: CursorCodec;

  constructor(
    /** Names the list (a cursor of another list is refused). */
    readonly list: string,
    readonly columns: readonly KeyColumn[],
    readonly order: 'ASC' | 'DESC',
  ) {
    this.codec = new CursorCodec(
      list,
      columns.map((c) => c.type),
    );
  }

  /**
   * One page of `qb` (already filtered and scoped by team) in this order: the cursor is decoded first (a bad
   * one is a 400 INVALID_CURSOR before any query), rows after it are read with a row comparison
   * `(a, b) < (:a, :b)` (index-friendly), and the next cursor carries the last row's key exactly as
   * PostgreSQL prints it (microseconds included, so no row is skipped or repeated).
   */
  async page<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, req: PageRequest): Promise<Page<T>> {
    const after = req.cursor ? this.codec.decode(req.cursor) : null;
    this.columns.forEach((c, i) => qb.addSelect(`(${c.expr})::text`, `keyset_${i}`));
    if (after) {
      const left = this.columns.map((c) => c.expr).join(', ');
      const right = this.columns.map((c, i) => `CAST(:keyset_${i} AS ${c.type})`).join(', ');
      const params = Object.fromEntries(after.map((v, i) => [`keyset_${i}`, v]));
      qb.andWhere(`(${left}) ${this.order === 'DESC' ? '<' : '>'} (${right})`, params);
    }
    this.columns.forEach((c, i) => (i === 0 ? qb.orderBy(c.expr, this.order) : qb.addOrderBy(c.expr, this.order)));
    qb.limit(req.limit + 1);
    const { entities, raw } = await qb.getRawAndEntities<Record<string, string>>();
    const items = entities.slice(0, req.limit);
    const lastRaw = entities.length > req.limit ? raw[req.limit - 1] : undefined;
    return {
      items,
      nextCursor: lastRaw ? this.codec.encode(this.columns.map((_, i) => String(lastRaw[`keyset_${i}`]))) : null,
    };
  }
}

/** The same page with its items mapped (entity → response DTO). */
export function mapPage<T, D>(page: Page<T>, map: (item: T) => D): Page<D> {
  return { items: page.items.map(map), nextCursor: page.nextCursor };
}
