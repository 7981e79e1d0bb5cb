import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The error log read by `GET /api/monitoring/errors`. `created_at` has millisecond precision so the keyset
 * cursor (a JS Date) is exact.
 */
export class CreateErrorLogs1763805000000 implements MigrationInterface {
  name = 'CreateErrorLogs1763805000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "error_logs" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "team_id" uuid NULL,
        "user_id" uuid NULL,
        "source" varchar(32) NOT NULL,
        "code" varchar(64) NOT NULL,
        "message" varchar(1000) NOT NULL,
        "status_code" int NULL,
        "correlation_id" varchar(128) NULL,
        "metadata" jsonb NOT NULL DEFAULT '{}',
        "created_at" timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "idx_error_logs_team_created" ON "error_logs" ("team_id", "created_at")`);
    await q.query(`CREATE INDEX "idx_error_logs_created" ON "error_logs" ("created_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "error_logs"`);
  }
}
