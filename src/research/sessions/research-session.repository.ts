import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { Repository } from 'typeorm';
import { Keyset, type Page, type PageRequest } from 'src/common/pagination/keyset';
import { ResearchErrorInfo, ResearchSession, ResearchStatus } from 'src/research/entities/research-session.entity';

/** Sessions: newest first (ids are UUIDs or client-chosen keys, hence `text`). */
const SESSIONS_KEYSET = new Keyset(
  'research-sessions',
  [
    { expr: 's.created_at', type: 'timestamptz' },
    { expr: 's.id', type: 'text' },
  ],
  'DESC',
);

/** The only place that touches `research_sessions`; every method is scoped by team and owner. */
@Injectable()
export class ResearchSessionRepository {
  constructor(@InjectRepository(ResearchSession) private readonly repo: Repository<ResearchSession>) {}

  findOwned(teamId: string, userId: string, id: string): Promise<ResearchSession | null> {
    return this.repo.findOne({ where: { teamId, userId, id } });
  }

  /** Creates the session if the id is free; never touches someone else's row. Returns the caller's row or null. */
  async createIfAbsent(teamId: string, userId: string, id: string, title: string): Promise<ResearchSession | null> {
    await this.repo
      .createQueryBuilder()
      .insert()
      .into(ResearchSession)
      .values({ id, teamId, userId, title })
      .orIgnore()
      .execute();
    return this.findOwned(teamId, userId, id);
  }

  /**
   * The id names a session of another user or team (a waiting stream must answer 404 for it, as every route
   * does). Scoped: it only says whether the row is someone else's, never whose.
   */
  async isHeldByOther(teamId: string, userId: string, id: string): Promise<boolean> {
    const rows: unknown = await this.repo.query(
      `SELECT 1 FROM "research_sessions" WHERE "id" = $3 AND NOT ("team_id" = $1 AND "user_id" = $2) LIMIT 1`,
      [teamId, userId, id],
    );
    return Array.isArray(rows) && rows.length > 0;
  }

  /** Deletes the owner's session; its messages, events and feedback go with it (ON DELETE CASCADE). */
  async deleteOwned(teamId: string, userId: string, id: string): Promise<boolean> {
    const result = await this.repo.delete({ teamId, userId, id });
    return (result.affected ?? 0) > 0;
  }

  /** Newest first, keyset after the session `afterId` (one of the owner's). */
  listOwned(teamId: string, userId: string, page: PageRequest): Promise<Page<ResearchSession>> {
    return SESSIONS_KEYSET.page(
      this.repo.createQueryBuilder('s').where('s.team_id = :teamId AND s.user_id = :userId', { teamId, userId }),
      page,
    );
  }

  async updateOwned(
    teamId: string,
    userId: string,
    id: string,
    patch: { title?: string; metadata?: Record<string, unknown> },
  ): Promise<void> {
    if (patch.title === undefined && patch.metadata === undefined) return;
    await this.repo.update({ teamId, userId, id }, patch as QueryDeepPartialEntity<ResearchSession>);
  }

  /**
   * Starts a new run unless one is running: resets progress/report/error, bumps `run_no` and takes the lease
   * for `leaseOwner`. Returns the new run number, or null when the session is running already.
   */
  async startRun(
    teamId: string,
    userId: string,
    id: string,
    values: { query: string; title: string; preferences: Record<string, unknown>; leaseOwner: string; leaseMs: number },
  ): Promise<number | null> {
    const result: unknown = await this.repo.query(
      `UPDATE "research_sessions"
          SET "run_no" = "run_no" + 1, "status" = 'running', "progress" = 0, "current_phase" = 'starting',
              "final_report" = NULL, "error" = NULL, "final_event_id" = NULL, "query" = $4, "title" = $5, "preferences" = $6,
              "lease_owner" = $7, "lease_expires_at" = now() + ($8 || ' milliseconds')::interval,
              "started_at" = now(), "completed_at" = NULL, "updated_at" = now()
        WHERE "team_id" = $1 AND "user_id" = $2 AND "id" = $3 AND "status" <> 'running'
        RETURNING "run_no"`,
      [
        teamId,
        userId,
        id,
        values.query,
        values.title,
        JSON.stringify(values.preferences),
        values.leaseOwner,
        String(values.leaseMs),
      ],
    );
    const row = returnedRows<{ run_no: number }>(result)[0];
    return row ? Number(row.run_no) : null;
  }

  /** Extends the lease of the run `runNo` held by `owner`. False when the run is no longer its own (ended, swept). */
  async renewLease(teamId: string, id: string, runNo: number, owner: string, leaseMs: number): Promise<boolean> {
    const result: unknown = await this.repo.query(
      `UPDATE "research_sessions" SET "lease_expires_at" = now() + ($5 || ' milliseconds')::interval
        WHERE "team_id" = $1 AND "id" = $2 AND "run_no" = $3 AND "status" = 'running' AND "lease_owner" = $4
        RETURNING "id"`,
      [teamId, id, runNo, owner, String(leaseMs)],
    );
    return returnedRows(result).length > 0;
  }

  async recordProgress(teamId: string, id: string, runNo: number, progress: number, phase: string): Promise<void> {
    await this.repo.update({ teamId, id, runNo, status: 'running' }, { progress, currentPhase: phase });
  }

  /**
   * Ends the run `runNo` (only while it is still the running one) and releases its lease. Returns false
   * when it was not running any more (someone else ended it: a sweep after its lease expired).
   */
  async finishRun(
    teamId: string,
    id: string,
    runNo: number,
    values: {
      status: ResearchStatus;
      progress?: number;
      phase: string;
      finalReport?: string | null;
      error?: ResearchErrorInfo | null;
      finalEventId: string | null;
    },
  ): Promise<boolean> {
    const result = await this.repo
      .createQueryBuilder()
      .update(ResearchSession)
      .set({
        status: values.status,
        currentPhase: values.phase,
        finalReport: values.finalReport ?? null,
        error: values.error ?? null,
        finalEventId: values.finalEventId,
        leaseOwner: null,
        leaseExpiresAt: null,
        completedAt: () => 'now()',
        ...(values.progress !== undefined ? { progress: values.progress } : {}),
      })
      .where(`"team_id" = :teamId AND "id" = :id AND "run_no" = :runNo AND "status" = 'running'`, { teamId, id, runNo })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /**
   * Ends a run that no process holds any more (its lease expired, or `ignoreLease` at the boot of a
   * single-instance deployment): status, error, lease released; progress and the stored events are kept.
   * The terminal event gets the next free `seq` of the run, computed in the same statement, and its id is
   * recorded. Returns that seq, or null when the run was not running with an expired lease (ended, renewed,
   * or another instance's sweep got there first): only one caller ever gets a seq.
   */
  async interruptRun(
    teamId: string,
    id: string,
    runNo: number,
    values: { status: ResearchStatus; error: ResearchErrorInfo },
    ignoreLease = false,
  ): Promise<number | null> {
    const result: unknown = await this.repo.query(
      `WITH next AS (
         SELECT COALESCE(MAX("seq"), 0) + 1 AS seq FROM "research_events"
          WHERE "team_id" = $1::uuid AND "session_id" = $2::varchar AND "run_no" = $3::integer
       )
       UPDATE "research_sessions" s
          SET "status" = $4::varchar, "current_phase" = $4::varchar, "error" = $5::jsonb, "final_event_id" = s."run_no" || '-' || next.seq,
              "lease_owner" = NULL, "lease_expires_at" = NULL, "completed_at" = now(), "updated_at" = now()
         FROM next
        WHERE s."team_id" = $1::uuid AND s."id" = $2::varchar AND s."run_no" = $3::integer AND s."status" = 'running'
          ${ignoreLease ? '' : 'AND (s."lease_expires_at" IS NULL OR s."lease_expires_at" < now())'}
        RETURNING next.seq AS seq`,
      [teamId, id, runNo, values.status, JSON.stringify(values.error)],
    );
    const row = returnedRows<{ seq: number }>(result)[0];
    return row ? Number(row.seq) : null;
  }

  /** Corrects the terminal event id of the ended run `runNo`. */
  async setFinalEventId(teamId: string, id: string, runNo: number, finalEventId: string): Promise<void> {
    await this.repo.update({ teamId, id, runNo }, { finalEventId });
  }

  /**
   * Running sessions whose lease expired (all running sessions with `ignoreLease`), oldest lease first.
   * Not scoped by team: a system sweep, not a user request (every write it leads to is scoped again).
   */
  async findStaleRuns(limit: number, ignoreLease = false): Promise<StaleRun[]> {
    const rows: Array<{ id: string; team_id: string; user_id: string; run_no: number; current_phase: string | null }> =
      await this.repo.query(
        `SELECT "id", "team_id", "user_id", "run_no", "current_phase" FROM "research_sessions"
        WHERE "status" = 'running' ${ignoreLease ? '' : 'AND ("lease_expires_at" IS NULL OR "lease_expires_at" < now())'}
        ORDER BY "lease_expires_at" NULLS FIRST LIMIT $1`,
        [limit],
      );
    return rows.map((r) => ({
      id: r.id,
      teamId: r.team_id,
      userId: r.user_id,
      runNo: Number(r.run_no),
      currentPhase: r.current_phase,
    }));
  }
}

/** A running session that no live process may hold (see `findStaleRuns`). */
export interface StaleRun {
  id: string;
  teamId: string;
  userId: string;
  runNo: number;
  currentPhase: string | null;
}

/** `query()` answers an UPDATE ... RETURNING with `[rows, count]` and an INSERT/SELECT with `rows`. */
function returnedRows<T>(result: unknown): T[] {
  if (!Array.isArray(result)) return [];
  return (Array.isArray(result[0]) ? result[0] : result) as T[];
}
