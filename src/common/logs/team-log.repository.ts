import { FindOptionsWhere, LessThan, ObjectLiteral, Repository } from 'typeorm';
import { Keyset, type Page, type PageRequest } from 'src/common/pagination/keyset';

/** A row of an append-only, team-scoped log table (`audit_logs`, `error_logs`). */
export interface TeamLogRow extends ObjectLiteral {
  id: string;
  teamId: string | null;
  createdAt: Date;
}

/** What every log list takes: a page and an optional time range (inclusive). */
export interface TeamLogQuery extends PageRequest {
  from?: Date;
  to?: Date;
}

/**
 * The reads and the retention shared by the log tables: a team's rows newest first, keyset-paged over
 * `(created_at, id)` (both tables keep milliseconds, `timestamptz(3)`), optionally filtered by equality on
 * a few columns and a time range; and the delete of rows older than a cutoff. A subclass adds its writes
 * and names its filters.
 */
export abstract class TeamLogRepository<E extends TeamLogRow> {
  private readonly keyset: Keyset;

  protected constructor(
    protected readonly repo: Repository<E>,
    /** Names the list, so a cursor of another log is refused. */
    list: string,
  ) {
    this.keyset = new Keyset(
      list,
      [
        { expr: 'l.created_at', type: 'timestamptz' },
        { expr: 'l.id', type: 'uuid' },
      ],
      'DESC',
    );
  }

  /** The team's rows where each given column (SQL name) equals its value; undefined values are no filter. */
  protected listWhere(teamId: string, equals: Record<string, string | undefined>, q: TeamLogQuery): Promise<Page<E>> {
    const qb = this.repo.createQueryBuilder('l').where('l.team_id = :teamId', { teamId });
    Object.entries(equals).forEach(([column, value], i) => {
      if (value !== undefined) qb.andWhere(`l.${column} = :eq_${i}`, { [`eq_${i}`]: value });
    });
    if (q.from) qb.andWhere('l.created_at >= :from', { from: q.from });
    if (q.to) qb.andWhere('l.created_at <= :to', { to: q.to });
    return this.keyset.page(qb, q);
  }

  /** Retention: deletes rows older than `cutoff`; returns how many. */
  async deleteOlderThan(cutoff: Date): Promise<number> {
    const r = await this.repo.delete({ createdAt: LessThan(cutoff) } as FindOptionsWhere<E>);
    return r.affected ?? 0;
  }
}
