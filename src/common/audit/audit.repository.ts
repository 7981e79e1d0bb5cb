import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditLog } from 'src/common/audit/audit-log.entity';
import { TeamLogQuery, TeamLogRepository } from 'src/common/logs/team-log.repository';
import type { Page } from 'src/common/pagination/keyset';

export type NewAuditLog = Partial<Omit<AuditLog, 'id' | 'createdAt'>> & { action: string };

export interface AuditQuery extends TeamLogQuery {
  action?: string;
  userId?: string;
}

/** The only place that touches `audit_logs`. Reads are always scoped by team. */
@Injectable()
export class AuditRepository extends TeamLogRepository<AuditLog> {
  constructor(@InjectRepository(AuditLog) repo: Repository<AuditLog>) {
    super(repo, 'audit-logs');
  }

  async create(entry: NewAuditLog): Promise<void> {
    await this.repo.insert({ metadata: {}, ...entry } as never);
  }

  listForTeam(teamId: string, q: AuditQuery): Promise<Page<AuditLog>> {
    return this.listWhere(teamId, { action: q.action, user_id: q.userId }, q);
  }
}
