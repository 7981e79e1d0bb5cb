import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, LessThan, Repository } from 'typeorm';
import { ErrorLog } from 'src/monitoring/entities/error-log.entity';

export type NewErrorLog = Omit<ErrorLog, 'id' | 'createdAt'>;

export interface ErrorLogQuery {
  source?: string;
  code?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** Keyset cursor: the last row's (createdAt, id). */
  before?: { createdAt: Date; id: string };
}

/** The only place that touches `error_logs`. Reads are always scoped by team. */
@Injectable()
export class ErrorLogRepository {
  constructor(@InjectRepository(ErrorLog) private readonly repo: Repository<ErrorLog>) {}

  async create(entry: NewErrorLog): Promise<void> {
    await this.repo.insert(entry as never);
  }

  async listForTeam(teamId: string, q: ErrorLogQuery): Promise<ErrorLog[]> {
    const qb = this.repo.createQueryBuilder('e').where('e.team_id = :teamId', { teamId });
    if (q.source) qb.andWhere('e.source = :source', { source: q.source });
    if (q.code) qb.andWhere('e.code = :code', { code: q.code });
    if (q.from) qb.andWhere('e.created_at >= :from', { from: q.from });
    if (q.to) qb.andWhere('e.created_at <= :to', { to: q.to });
    const before = q.before;
    if (before) {
      qb.andWhere(
        new Brackets((w) =>
          w
            .where('e.created_at < :bc', { bc: before.createdAt })
            .orWhere('(e.created_at = :bc AND e.id < :bid)', { bc: before.createdAt, bid: before.id }),
        ),
      );
    }
    return qb.orderBy('e.created_at', 'DESC').addOrderBy('e.id', 'DESC').limit(q.limit).getMany();
  }

  /** Retention: deletes rows older than `cutoff`; returns how many. */
  async deleteOlderThan(cutoff: Date): Promise<number> {
    const r = await this.repo.delete({ createdAt: LessThan(cutoff) });
    return r.affected ?? 0;
  }
}
