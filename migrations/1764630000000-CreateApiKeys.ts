import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Team API keys (`cb_live_…`). Only the SHA-256 of a key is stored (`key_hash`, unique: the lookup of an
 * incoming key); `prefix` (the first characters, shown in lists) lets people find a key without its secret.
 */
export class CreateApiKeys1764630000000 implements MigrationInterface {
  name = 'CreateApiKeys1764630000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "api_keys" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "team_id" uuid NOT NULL REFERENCES "teams"("id") ON DELETE CASCADE,
        "name" varchar(100) NOT NULL,
        "prefix" varchar(32) NOT NULL,
        "key_hash" char(64) NOT NULL,
        "scopes" jsonb NOT NULL DEFAULT '[]',
        "created_by" uuid NULL,
        "created_at" timestamptz(3) NOT NULL DEFAULT now(),
        "last_used_at" timestamptz(3) NULL,
        "expires_at" timestamptz(3) NULL,
        "revoked_at" timestamptz(3) NULL
      )`);
    await q.query(`CREATE UNIQUE INDEX "uq_api_keys_hash" ON "api_keys" ("key_hash")`);
    await q.query(`CREATE INDEX "idx_api_keys_team_created" ON "api_keys" ("team_id", "created_at", "id")`);
    await q.query(`CREATE INDEX "idx_api_keys_prefix" ON "api_keys" ("prefix")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "api_keys"`);
  }
}
