import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { MoreThan, Repository } from 'typeorm';
import { Keyset, type Page, type PageRequest } from 'src/common/pagination/keyset';
import { ResearchEvent } from 'src/research/entities/research-event.entity';

/** Agent history: newest first by the event's serial id. */
const AGENT_HISTORY_KEYSET = new Keyset('research-agent-history', [{ expr: 'e.id', type: 'bigint' }], 'DESC');

export type ResearchEventWrite = Pick<
  ResearchEvent,
  'sessionId' | 'userId' | 'runNo' | 'seq' | 'type' | 'agentId' | 'agentType' | 'data'
>;

/** The only place that touches `research_events`. */
@Injectable()
export class ResearchEventRepository {
  constructor(@InjectRepository(ResearchEvent) private readonly repo: Repository<ResearchEvent>) {}

  /** A terminal event: written once per `(session, run, seq)`; false when that seq was taken already. */
  async add(teamId: string, event: ResearchEventWrite): Promise<boolean> {
    const result = await this.repo
      .createQueryBuilder()
      .insert()
      .into(ResearchEvent)
      .values({ ...event, teamId } as QueryDeepPartialEntity<ResearchEvent>)
      .orIgnore()
      .execute();
    return (result.identifiers?.filter(Boolean).length ?? 0) > 0;
  }

  /**
   * An event of a run in progress: stored only while the run is the session's running one, so a run that
   * was ended elsewhere (swept after its lease expired) cannot add events after its terminal event.
   * Returns whether it was stored.
   */
  async addWhileRunning(teamId: string, e: ResearchEventWrite): Promise<boolean> {
    const rows: unknown[] = await this.repo.query(
      `INSERT INTO "research_events" ("session_id", "team_id", "user_id", "run_no", "seq", "type", "agent_id", "agent_type", "data")
       SELECT $1::varchar, $2::uuid, $3::uuid, $4::integer, $5::integer, $6::varchar, $7::varchar, $8::varchar, $9::jsonb
        WHERE EXISTS (
          SELECT 1 FROM "research_sessions" s WHERE s."id" = $1::varchar AND s."team_id" = $2::uuid AND s."run_no" = $4::integer AND s."status" = 'running'
        )
       ON CONFLICT DO NOTHING
       RETURNING "id"`,
      [e.sessionId, teamId, e.userId, e.runNo, e.seq, e.type, e.agentId, e.agentType, JSON.stringify(e.data)],
    );
    return rows.length > 0;
  }

  /** Events of one run after `afterSeq`, in order. */
  listRun(teamId: string, sessionId: string, runNo: number, afterSeq: number): Promise<ResearchEvent[]> {
    return this.repo.find({ where: { teamId, sessionId, runNo, seq: MoreThan(afterSeq) }, order: { seq: 'ASC' } });
  }

  /** The highest seq stored for the run (0: none). */
  async lastSeq(teamId: string, sessionId: string, runNo: number): Promise<number> {
    const rows: Array<{ seq: number | null }> = await this.repo.query(
      `SELECT MAX("seq") AS seq FROM "research_events" WHERE "team_id" = $1 AND "session_id" = $2 AND "run_no" = $3`,
      [teamId, sessionId, runNo],
    );
    return Number(rows[0]?.seq ?? 0);
  }

  /** The agent list of the run's latest event that carries one (a progress or terminal event), or null. */
  async latestAgents(teamId: string, sessionId: string, runNo: number): Promise<unknown[] | null> {
    const rows: Array<{ agents: unknown }> = await this.repo.query(
      `SELECT "data"->'agents' AS agents FROM "research_events"
        WHERE "team_id" = $1 AND "session_id" = $2 AND "run_no" = $3 AND jsonb_typeof("data"->'agents') = 'array'
        ORDER BY "seq" DESC LIMIT 1`,
      [teamId, sessionId, runNo],
    );
    return Array.isArray(rows[0]?.agents) ? rows[0].agents : null;
  }

  /** The caller's agent events (agent_start / agent_complete), newest first, keyset on the row id. */
  listAgentHistory(teamId: string, userId: string, page: PageRequest): Promise<Page<ResearchEvent>> {
    const qb = this.repo
      .createQueryBuilder('e')
      .where('e.team_id = :teamId AND e.user_id = :userId AND e.agent_type IS NOT NULL', { teamId, userId })
      .andWhere("e.type IN ('agent_start', 'agent_complete')");
    return AGENT_HISTORY_KEYSET.page(qb, page);
  }

  /**
   * Retention: deletes up to `limit` events created before `cutoff` of sessions that finished before
   * `cutoff` (never of a running session). Not scoped by team: system maintenance. Returns how many.
   */
  async deleteOfSessionsFinishedBefore(cutoff: Date, limit: number): Promise<number> {
    const result: unknown = await this.repo.query(
      `DELETE FROM "research_events" WHERE "id" IN (
         SELECT e."id" FROM "research_events" e
           JOIN "research_sessions" s ON s."id" = e."session_id" AND s."team_id" = e."team_id"
          WHERE e."created_at" < $1 AND s."completed_at" < $1 AND s."status" IN ('completed', 'failed', 'cancelled')
            AND e."run_no" <= s."run_no"
          LIMIT $2)`,
      [cutoff, limit],
    );
    // A DELETE comes back as [rows, count].
    return Array.isArray(result) && typeof result[1] === 'number' ? result[1] : 0;
  }
}
