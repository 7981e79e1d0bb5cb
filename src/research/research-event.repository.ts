import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { MoreThan, Repository } from 'typeorm';
import { ResearchEvent } from 'src/research/entities/research-event.entity';

export type ResearchEventWrite = Pick<ResearchEvent, 'sessionId' | 'userId' | 'runNo' | 'seq' | 'type' | 'agentId' | 'agentType' | 'data'>;

/** The only place that touches `research_events`. */
@Injectable()
export class ResearchEventRepository {
  constructor(@InjectRepository(ResearchEvent) private readonly repo: Repository<ResearchEvent>) {}

  async add(teamId: string, event: ResearchEventWrite): Promise<void> {
    await this.repo.insert({ ...event, teamId } as QueryDeepPartialEntity<ResearchEvent>);
  }

  /** Events of one run after `afterSeq`, in order. */
  listRun(teamId: string, sessionId: string, runNo: number, afterSeq: number): Promise<ResearchEvent[]> {
    return this.repo.find({ where: { teamId, sessionId, runNo, seq: MoreThan(afterSeq) }, order: { seq: 'ASC' } });
  }

  /** The caller's agent events (agent_start / agent_complete), newest first, keyset on the row id. */
  listAgentHistory(teamId: string, userId: string, limit: number, beforeId: string | null): Promise<ResearchEvent[]> {
    const qb = this.repo
      .createQueryBuilder('e')
      .where('e.team_id = :teamId AND e.user_id = :userId AND e.agent_type IS NOT NULL', { teamId, userId })
      .andWhere("e.type IN ('agent_start', 'agent_complete')");
    if (beforeId) qb.andWhere('e.id < :beforeId', { beforeId });
    return qb.orderBy('e.id', 'DESC').limit(limit).getMany();
  }
}
