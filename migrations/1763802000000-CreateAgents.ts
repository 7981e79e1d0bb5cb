import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Agents (configured LLM back ends) of a team. No foreign key to teams (another feature's migration);
 * every query is scoped by team_id in AgentRepository. Soft delete (`deleted_at`): chats.agent_id keeps
 * pointing at an existing row. The fallback is a self reference; deleting an agent clears it in the service
 * (and ON DELETE SET NULL covers a hard delete).
 */
export class CreateAgents1763802000000 implements MigrationInterface {
  name = 'CreateAgents1763802000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "agents" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "team_id" uuid NOT NULL,
        "name" varchar(100) NOT NULL,
        "description" varchar(1000) NOT NULL DEFAULT '',
        "provider" varchar(16) NOT NULL,
        "model" varchar(200) NOT NULL,
        "base_url" varchar(2000) NULL,
        "webhook_url" varchar(2000) NULL,
        "system_prompt" text NOT NULL DEFAULT '',
        "config" jsonb NOT NULL DEFAULT '{}',
        "fallback_agent_id" uuid NULL REFERENCES "agents" ("id") ON DELETE SET NULL,
        "is_active" boolean NOT NULL DEFAULT true,
        "secret_enc" text NULL,
        "avatar_content_type" varchar(32) NULL,
        "avatar_sha256" char(64) NULL,
        "avatar_data" bytea NULL,
        "created_by" uuid NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        "deleted_at" timestamptz NULL,
        CONSTRAINT "chk_agents_provider" CHECK ("provider" IN ('gemini', 'openai', 'n8n', 'mock')),
        CONSTRAINT "chk_agents_no_self_fallback" CHECK ("fallback_agent_id" IS NULL OR "fallback_agent_id" <> "id")
      )`);
    await q.query(`CREATE INDEX "idx_agents_team" ON "agents" ("team_id")`);
    await q.query(`CREATE INDEX "idx_agents_team_created" ON "agents" ("team_id", "created_at", "id")`);
    await q.query(
      `CREATE INDEX "idx_agents_fallback" ON "agents" ("fallback_agent_id") WHERE "fallback_agent_id" IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "agents"`);
  }
}
