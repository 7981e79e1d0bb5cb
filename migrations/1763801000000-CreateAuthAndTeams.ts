import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Teams, users, invites, refresh-token families and tokens, the access-token denylist and the
 * brute-force counters (database mode). Tokens are only ever stored as SHA-256 hashes. Emails are stored
 * lower-cased and are unique per team case-insensitively.
 */
export class CreateAuthAndTeams1763801000000 implements MigrationInterface {
  name = 'CreateAuthAndTeams1763801000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "teams" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "name" varchar(100) NOT NULL,
        "slug" varchar(120) NOT NULL,
        "allow_open_signup" boolean NOT NULL DEFAULT false,
        "is_active" boolean NOT NULL DEFAULT true,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "uq_teams_slug" UNIQUE ("slug")
      )`);

    await q.query(`
      CREATE TABLE "users" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "team_id" uuid NOT NULL REFERENCES "teams" ("id") ON DELETE CASCADE,
        "email" varchar(254) NOT NULL,
        "password_hash" varchar(255) NOT NULL,
        "display_name" varchar(100) NOT NULL DEFAULT '',
        "role" varchar(16) NOT NULL DEFAULT 'user',
        "is_active" boolean NOT NULL DEFAULT true,
        "last_login_at" timestamptz NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "chk_users_role" CHECK ("role" IN ('admin', 'user'))
      )`);
    await q.query(`CREATE INDEX "idx_users_team" ON "users" ("team_id")`);
    await q.query(`CREATE UNIQUE INDEX "uq_users_team_email" ON "users" ("team_id", lower("email"))`);
    await q.query(`CREATE INDEX "idx_users_email" ON "users" (lower("email"))`);
    await q.query(`CREATE INDEX "idx_users_team_created" ON "users" ("team_id", "created_at", "id")`);

    await q.query(`
      CREATE TABLE "invites" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "team_id" uuid NOT NULL REFERENCES "teams" ("id") ON DELETE CASCADE,
        "token_hash" char(64) NOT NULL,
        "email" varchar(254) NULL,
        "role" varchar(16) NOT NULL,
        "created_by" uuid NULL,
        "expires_at" timestamptz NOT NULL,
        "used_at" timestamptz NULL,
        "used_by" uuid NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "uq_invites_token_hash" UNIQUE ("token_hash"),
        CONSTRAINT "chk_invites_role" CHECK ("role" IN ('admin', 'user'))
      )`);
    await q.query(`CREATE INDEX "idx_invites_team" ON "invites" ("team_id")`);

    await q.query(`
      CREATE TABLE "refresh_token_families" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "team_id" uuid NOT NULL,
        "user_id" uuid NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "revoked_at" timestamptz NULL,
        "revoke_reason" varchar(32) NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "idx_refresh_families_team" ON "refresh_token_families" ("team_id")`);
    await q.query(`CREATE INDEX "idx_refresh_families_user" ON "refresh_token_families" ("user_id")`);

    await q.query(`
      CREATE TABLE "refresh_tokens" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "family_id" uuid NOT NULL REFERENCES "refresh_token_families" ("id") ON DELETE CASCADE,
        "team_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "parent_id" uuid NULL REFERENCES "refresh_tokens" ("id") ON DELETE SET NULL,
        "token_hash" char(64) NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "rotated_at" timestamptz NULL,
        "revoked_at" timestamptz NULL,
        "ip" varchar(64) NULL,
        "user_agent" varchar(500) NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "uq_refresh_tokens_hash" UNIQUE ("token_hash")
      )`);
    await q.query(`CREATE INDEX "idx_refresh_tokens_team" ON "refresh_tokens" ("team_id")`);
    await q.query(`CREATE INDEX "idx_refresh_tokens_family" ON "refresh_tokens" ("family_id")`);
    await q.query(`CREATE INDEX "idx_refresh_tokens_expires" ON "refresh_tokens" ("expires_at")`);

    await q.query(`
      CREATE TABLE "revoked_access_tokens" (
        "jti" varchar(64) PRIMARY KEY,
        "team_id" uuid NULL,
        "user_id" uuid NULL,
        "expires_at" timestamptz NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "idx_revoked_access_tokens_team" ON "revoked_access_tokens" ("team_id")`);
    await q.query(`CREATE INDEX "idx_revoked_access_tokens_expires" ON "revoked_access_tokens" ("expires_at")`);

    await q.query(`
      CREATE TABLE "auth_counters" (
        "key" varchar(300) PRIMARY KEY,
        "count" int NOT NULL DEFAULT 0,
        "window_expires_at" timestamptz NOT NULL,
        "locked_until" timestamptz NULL
      )`);
    await q.query(`CREATE INDEX "idx_auth_counters_window" ON "auth_counters" ("window_expires_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "auth_counters"`);
    await q.query(`DROP TABLE "revoked_access_tokens"`);
    await q.query(`DROP TABLE "refresh_tokens"`);
    await q.query(`DROP TABLE "refresh_token_families"`);
    await q.query(`DROP TABLE "invites"`);
    await q.query(`DROP TABLE "users"`);
    await q.query(`DROP TABLE "teams"`);
  }
}
