import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, LessThan, Repository } from 'typeorm';
import { AuditLog } from 'src/common/audit/audit-log.entity';

export type NewAuditLog = Partial<Omit<AuditLog, 'id' | 'createdAt'>> & { action: string };

export interface AuditQuery {
  action?: string;
  userId?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** Keyset cursor: the last row's (createdAt, id). */
  before?: { createdAt: Date; id: string };
}

/** The only place that touches `audit_logs`. Reads are always scoped by team. */
@Injectable()
export class AuditRepository {
  constructor(@InjectRepository(AuditLog) private readonly repo: Repository<AuditLog>) {}

  async create(entry: NewAuditLog): Promise<void> {
    await this.createMany([entry]);
  }

  /** One multi-row INSERT (AuditService batches the entries recorded while a write is in flight). */
  async createMany(entries: (NewAuditLog & { createdAt?: Date })[]): Promise<void> {
    if (entries.length) await this.repo.insert(entries.map((entry) => ({ metadata: {}, ...entry })) as never);
  }

  async listForTeam(teamId: string, q: AuditQuery): Promise<AuditLog[]> {
    const qb = this.repo.createQueryBuilder('a').where('a.team_id = :teamId', { teamId });
    if (q.action) qb.andWhere('a.action = :action', { action: q.action });
    if (q.userId) qb.andWhere('a.user_id = :userId', { userId: q.userId });
    if (q.from) qb.andWhere('a.created_at >= :from', { from: q.from });
    if (q.to) qb.andWhere('a.created_at <= :to', { to: q.to });
    const before = q.before;
    if (before) {
      qb.andWhere(
        new Brackets((w) =>
          w
            .where('a.created_at < :bc', { bc: before.createdAt })
            .orWhere('(a.created_at = :bc AND a.id < :bid)', { bc: before.createdAt, bid: before.id }),
        ),
      );
    }
    return qb.orderBy('a.created_at', 'DESC').addOrderBy('a.id', 'DESC').limit(q.limit).getMany();
  }

  /** Retention: deletes rows older than `cutoff`; returns how many. */
  async deleteOlderThan(cutoff: Date): Promise<number> {
    const r = await this.repo.delete({ createdAt: LessThan(cutoff) });
    return r.affected ?? 0;
  }
}
