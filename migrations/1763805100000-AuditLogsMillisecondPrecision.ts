import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `GET /api/audit-logs` pages with a keyset cursor over (created_at, id) carried as a JS Date, which has
 * millisecond precision. With microsecond timestamps two rows in the same millisecond could be skipped
 * between pages; storing milliseconds makes the cursor exact. Also indexes created_at for retention.
 */
export class AuditLogsMillisecondPrecision1763805100000 implements MigrationInterface {
  name = 'AuditLogsMillisecondPrecision1763805100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "audit_logs" ALTER COLUMN "created_at" TYPE timestamptz(3)`);
    await q.query(`CREATE INDEX "idx_audit_logs_created" ON "audit_logs" ("created_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "idx_audit_logs_created"`);
    await q.query(`ALTER TABLE "audit_logs" ALTER COLUMN "created_at" TYPE timestamptz`);
  }
}
