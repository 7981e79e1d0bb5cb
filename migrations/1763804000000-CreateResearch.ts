import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Research (Vana-compatible): sessions (client-chosen ids), their messages (deduplicated by the client's
 * message id), every stream event of every run (resume after the stream log expired, agent history),
 * feedback, and the per-team role mapping. No foreign keys to teams/users/agents (other features' tables);
 * every query is scoped by team_id (and user_id) in the repositories.
 */
export class CreateResearch1763804000000 implements MigrationInterface {
  name = 'CreateResearch1763804000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "research_sessions" (
        "id" varchar(100) PRIMARY KEY,
        "team_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'pending',
        "title" varchar(200) NOT NULL DEFAULT 'New research',
        "query" text NOT NULL DEFAULT '',
        "preferences" jsonb NOT NULL DEFAULT '{}',
        "metadata" jsonb NOT NULL DEFAULT '{}',
        "progress" double precision NOT NULL DEFAULT 0,
        "current_phase" varchar(32) NULL,
        "final_report" text NULL,
        "error" jsonb NULL,
        "run_no" integer NOT NULL DEFAULT 0,
        "started_at" timestamptz NULL,
        "completed_at" timestamptz NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "chk_research_sessions_status" CHECK ("status" IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
        CONSTRAINT "chk_research_sessions_progress" CHECK ("progress" >= 0 AND "progress" <= 1)
      )`);
    await q.query(`CREATE INDEX "idx_research_sessions_team" ON "research_sessions" ("team_id")`);
    await q.query(
      `CREATE INDEX "idx_research_sessions_owner_list" ON "research_sessions" ("team_id", "user_id", "created_at" DESC, "id" DESC)`,
    );

    await q.query(`
      CREATE TABLE "research_messages" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "session_id" varchar(100) NOT NULL REFERENCES "research_sessions" ("id") ON DELETE CASCADE,
        "team_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "message_id" varchar(100) NOT NULL,
        "role" varchar(16) NOT NULL,
        "content" text NOT NULL,
        "metadata" jsonb NOT NULL DEFAULT '{}',
        "sent_at" timestamptz NOT NULL DEFAULT now(),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "chk_research_messages_role" CHECK ("role" IN ('user', 'assistant', 'system'))
      )`);
    await q.query(`CREATE INDEX "idx_research_messages_team" ON "research_messages" ("team_id")`);
    await q.query(
      `CREATE UNIQUE INDEX "uq_research_messages_session_message" ON "research_messages" ("session_id", "message_id")`,
    );

    await q.query(`
      CREATE TABLE "research_events" (
        "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        "session_id" varchar(100) NOT NULL REFERENCES "research_sessions" ("id") ON DELETE CASCADE,
        "team_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "run_no" integer NOT NULL,
        "seq" integer NOT NULL,
        "type" varchar(40) NOT NULL,
        "agent_id" varchar(64) NULL,
        "agent_type" varchar(32) NULL,
        "data" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "idx_research_events_team" ON "research_events" ("team_id")`);
    await q.query(
      `CREATE UNIQUE INDEX "uq_research_events_run_seq" ON "research_events" ("session_id", "run_no", "seq")`,
    );
    await q.query(
      `CREATE INDEX "idx_research_events_agent_history" ON "research_events" ("team_id", "user_id", "id" DESC) WHERE "agent_type" IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE "research_feedback" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "team_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "session_id" varchar(100) NULL REFERENCES "research_sessions" ("id") ON DELETE CASCADE,
        "message_id" varchar(100) NULL,
        "rating" smallint NOT NULL,
        "comment" text NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "chk_research_feedback_rating" CHECK ("rating" BETWEEN -1 AND 5)
      )`);
    await q.query(`CREATE INDEX "idx_research_feedback_team" ON "research_feedback" ("team_id")`);
    await q.query(`CREATE INDEX "idx_research_feedback_session" ON "research_feedback" ("session_id")`);

    await q.query(`
      CREATE TABLE "research_settings" (
        "team_id" uuid PRIMARY KEY,
        "worker_agent_id" uuid NULL,
        "critic_agent_id" uuid NULL,
        "updated_by" uuid NULL,
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "research_settings"`);
    await q.query(`DROP TABLE "research_feedback"`);
    await q.query(`DROP TABLE "research_events"`);
    await q.query(`DROP TABLE "research_messages"`);
    await q.query(`DROP TABLE "research_sessions"`);
  }
}
