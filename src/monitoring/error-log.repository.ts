import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TeamLogQuery, TeamLogRepository } from 'src/common/logs/team-log.repository';
import type { Page } from 'src/common/pagination/keyset';
import { ErrorLog } from 'src/monitoring/entities/error-log.entity';

export type NewErrorLog = Omit<ErrorLog, 'id' | 'createdAt'>;

export interface ErrorLogQuery extends TeamLogQuery {
  source?: string;
  code?: string;
}

/** The only place that touches `error_logs`. Reads are always scoped by team. */
@Injectable()
export class ErrorLogRepository extends TeamLogRepository<ErrorLog> {
  constructor(@InjectRepository(ErrorLog) repo: Repository<ErrorLog>) {
    super(repo, 'error-logs');
  }

  async create(entry: NewErrorLog): Promise<void> {
    await this.repo.insert(entry as never);
  }

  listForTeam(teamId: string, q: ErrorLogQuery): Promise<Page<ErrorLog>> {
    return this.listWhere(teamId, { source: q.source, code: q.code }, q);
  }
}
