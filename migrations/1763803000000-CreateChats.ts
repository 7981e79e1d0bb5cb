import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Chats, messages (a tree through parent_id, with a generation lease) and the per-team monthly token ledger.
 * No foreign keys to teams/users/agents: those tables belong to other features' migrations; every query
 * is scoped by team_id (and owner_id) in the repositories.
 */
export class CreateChats1763803000000 implements MigrationInterface {
  name = 'CreateChats1763803000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "chats" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "team_id" uuid NOT NULL,
        "owner_id" uuid NOT NULL,
        "agent_id" uuid NOT NULL,
        "title" varchar(200) NOT NULL DEFAULT 'New chat',
        "metadata" jsonb NOT NULL DEFAULT '{}',
        "is_archived" boolean NOT NULL DEFAULT false,
        "search" tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, coalesce("title", ''))) STORED,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "idx_chats_team" ON "chats" ("team_id")`);
    await q.query(
      `CREATE INDEX "idx_chats_owner_list" ON "chats" ("team_id", "owner_id", "is_archived", "created_at" DESC, "id" DESC)`,
    );
    await q.query(`CREATE INDEX "idx_chats_search" ON "chats" USING gin ("search")`);

    await q.query(`
      CREATE TABLE "messages" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "chat_id" uuid NOT NULL REFERENCES "chats" ("id") ON DELETE CASCADE,
        "team_id" uuid NOT NULL,
        "parent_id" uuid NULL REFERENCES "messages" ("id") ON DELETE CASCADE,
        "role" varchar(16) NOT NULL,
        "content" text NOT NULL DEFAULT '',
        "status" varchar(16) NOT NULL DEFAULT 'complete',
        "error_code" varchar(64) NULL,
        "error_message" varchar(500) NULL,
        "model" varchar(200) NULL,
        "agent_id" uuid NULL,
        "usage" jsonb NULL,
        "client_message_id" varchar(200) NULL,
        "lease_owner" varchar(100) NULL,
        "lease_expires_at" timestamptz NULL,
        "search" tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, coalesce("content", ''))) STORED,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "chk_messages_role" CHECK ("role" IN ('user', 'assistant', 'system')),
        CONSTRAINT "chk_messages_status" CHECK ("status" IN ('complete', 'streaming', 'cancelled', 'error'))
      )`);
    await q.query(`CREATE INDEX "idx_messages_team" ON "messages" ("team_id")`);
    await q.query(`CREATE INDEX "idx_messages_chat_created" ON "messages" ("chat_id", "created_at", "id")`);
    await q.query(`CREATE INDEX "idx_messages_parent" ON "messages" ("parent_id")`);
    await q.query(`CREATE UNIQUE INDEX "uq_messages_chat_client_id" ON "messages" ("chat_id", "client_message_id")`);
    await q.query(
      `CREATE INDEX "idx_messages_streaming_lease" ON "messages" ("lease_expires_at") WHERE "status" = 'streaming'`,
    );
    await q.query(`CREATE INDEX "idx_messages_search" ON "messages" USING gin ("search")`);

    await q.query(`
      CREATE TABLE "team_token_usage" (
        "team_id" uuid NOT NULL,
        "period" date NOT NULL,
        "prompt_tokens" bigint NOT NULL DEFAULT 0,
        "completion_tokens" bigint NOT NULL DEFAULT 0,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("team_id", "period")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "team_token_usage"`);
    await q.query(`DROP TABLE "messages"`);
    await q.query(`DROP TABLE "chats"`);
  }
}
