import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateAuditLogs1763800000000 implements MigrationInterface {
  name = 'CreateAuditLogs1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "audit_logs" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "team_id" uuid NULL,
        "user_id" uuid NULL,
        "action" varchar(100) NOT NULL,
        "method" varchar(10) NULL,
        "route" varchar(300) NULL,
        "status_code" int NULL,
        "duration_ms" int NULL,
        "ip" varchar(64) NULL,
        "user_agent" varchar(500) NULL,
        "correlation_id" varchar(128) NULL,
        "metadata" jsonb NOT NULL DEFAULT '{}',
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "idx_audit_logs_team_created" ON "audit_logs" ("team_id", "created_at")`);
    await q.query(`CREATE INDEX "idx_audit_logs_action" ON "audit_logs" ("action")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "audit_logs"`);
  }
}
