import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Research crash recovery and event retention (docs/research.md):
 * - `lease_owner`, `lease_expires_at`: the instance running a session's current run renews its lease; a
 *   `running` session whose lease expired lost its process and is swept (finished as INTERRUPTED). The
 *   partial index serves the sweep.
 * - `final_event_id`: the id of the current run's terminal event, so a resume served from the session row
 *   (after retention deleted the events) ends with the very id the stream used, and a Last-Event-ID at or
 *   after it gets 204. Back-filled from the stored terminal events.
 * - `idx_research_events_created`: the retention cleanup finds old events by creation time.
 */
export class ResearchRunLeasesAndRetention1763804100000 implements MigrationInterface {
  name = 'ResearchRunLeasesAndRetention1763804100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "research_sessions" ADD COLUMN "lease_owner" varchar(100) NULL`);
    await q.query(`ALTER TABLE "research_sessions" ADD COLUMN "lease_expires_at" timestamptz NULL`);
    await q.query(`ALTER TABLE "research_sessions" ADD COLUMN "final_event_id" varchar(40) NULL`);
    await q.query(
      `CREATE INDEX "idx_research_sessions_running_lease" ON "research_sessions" ("lease_expires_at") WHERE "status" = 'running'`,
    );
    await q.query(`CREATE INDEX "idx_research_events_created" ON "research_events" ("created_at")`);
    await q.query(`
      UPDATE "research_sessions" s
         SET "final_event_id" = s."run_no" || '-' || e."seq"
        FROM "research_events" e
       WHERE e."session_id" = s."id" AND e."run_no" = s."run_no" AND e."type" IN ('research_complete', 'error')
         AND s."status" IN ('completed', 'failed', 'cancelled')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "idx_research_events_created"`);
    await q.query(`DROP INDEX "idx_research_sessions_running_lease"`);
    await q.query(`ALTER TABLE "research_sessions" DROP COLUMN "final_event_id"`);
    await q.query(`ALTER TABLE "research_sessions" DROP COLUMN "lease_expires_at"`);
    await q.query(`ALTER TABLE "research_sessions" DROP COLUMN "lease_owner"`);
  }
}
