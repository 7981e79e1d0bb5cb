import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { Repository } from 'typeorm';
import { ResearchErrorInfo, ResearchSession, ResearchStatus } from 'src/research/entities/research-session.entity';

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

  /** Newest first, keyset after the session `afterId` (one of the owner's). */
  listOwned(teamId: string, userId: string, limit: number, afterId: string | null): Promise<ResearchSession[]> {
    const qb = this.repo.createQueryBuilder('s').where('s.team_id = :teamId AND s.user_id = :userId', { teamId, userId });
    if (afterId) {
      qb.andWhere(
        '(s.created_at, s.id) < (SELECT c.created_at, c.id FROM research_sessions c WHERE c.team_id = :teamId AND c.user_id = :userId AND c.id = :afterId)',
        { afterId },
      );
    }
    return qb.orderBy('s.created_at', 'DESC').addOrderBy('s.id', 'DESC').limit(limit).getMany();
  }

  async updateOwned(teamId: string, userId: string, id: string, patch: { title?: string; metadata?: Record<string, unknown> }): Promise<void> {
    if (patch.title === undefined && patch.metadata === undefined) return;
    await this.repo.update({ teamId, userId, id }, patch as QueryDeepPartialEntity<ResearchSession>);
  }

  /**
   * Starts a new run unless one is running: resets progress/report/error and bumps `run_no`.
   * Returns the new run number, or null when the session is running already.
   */
  async startRun(teamId: string, userId: string, id: string, values: { query: string; title: string; preferences: Record<string, unknown> }): Promise<number | null> {
    const rows: Array<{ run_no: number }> = await this.repo.query(
      `UPDATE "research_sessions"
          SET "run_no" = "run_no" + 1, "status" = 'running', "progress" = 0, "current_phase" = 'starting',
              "final_report" = NULL, "error" = NULL, "query" = $4, "title" = $5, "preferences" = $6,
              "started_at" = now(), "completed_at" = NULL, "updated_at" = now()
        WHERE "team_id" = $1 AND "user_id" = $2 AND "id" = $3 AND "status" <> 'running'
        RETURNING "run_no"`,
      [teamId, userId, id, values.query, values.title, JSON.stringify(values.preferences)],
    );
    const row = Array.isArray(rows[0]) ? (rows[0] as Array<{ run_no: number }>)[0] : rows[0];
    return row ? Number(row.run_no) : null;
  }

  async recordProgress(teamId: string, id: string, runNo: number, progress: number, phase: string): Promise<void> {
    await this.repo.update({ teamId, id, runNo, status: 'running' }, { progress, currentPhase: phase });
  }

  /** Ends the run `runNo` (only while it is still the running one). */
  async finishRun(
    teamId: string,
    id: string,
    runNo: number,
    values: { status: ResearchStatus; progress?: number; phase: string; finalReport?: string | null; error?: ResearchErrorInfo | null },
  ): Promise<void> {
    await this.repo.update(
      { teamId, id, runNo, status: 'running' },
      {
        status: values.status,
        currentPhase: values.phase,
        finalReport: values.finalReport ?? null,
        error: values.error ?? null,
        completedAt: new Date(),
        ...(values.progress !== undefined ? { progress: values.progress } : {}),
      },
    );
  }

  /**
   * Maintenance at boot of a single-instance deployment (no Redis): every running session lost its process.
   * The one method not scoped by team: it is a system sweep, not a user request. Returns how many.
   */
  async failOrphanedRuns(error: ResearchErrorInfo): Promise<number> {
    const result = await this.repo.update({ status: 'running' }, { status: 'failed', currentPhase: 'failed', error, completedAt: new Date() });
    return result.affected ?? 0;
  }
}
