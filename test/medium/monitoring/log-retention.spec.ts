import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditRepository } from 'src/common/audit/audit.repository';
import { ErrorLogRepository } from 'src/monitoring/error-log.repository';
import { ErrorLogService } from 'src/monitoring/error-log.service';
import { RetentionService } from 'src/monitoring/retention.service';
import { withTestApp } from 'test/utils/test-app';

const DAY = 24 * 3600 * 1000;

describe('Monitoring: audit and error log storage', () => {
  let ds: DataSource;
  const teamA = randomUUID();
  const teamB = randomUUID();

  const t = withTestApp({ env: { AUDIT_RETENTION_DAYS: '30' } });
  beforeAll(async () => {
    ds = t.app.get(DataSource);
  });

  it('deletes audit and error log rows older than AUDIT_RETENTION_DAYS and keeps newer ones', async () => {
    const old = new Date(Date.now() - 31 * DAY);
    const recent = new Date(Date.now() - 29 * DAY);
    for (const at of [old, recent]) {
      await ds.query(`INSERT INTO audit_logs (team_id, action, created_at) VALUES ($1, 'retention.probe', $2)`, [
        teamA,
        at,
      ]);
      await ds.query(
        `INSERT INTO error_logs (team_id, source, code, message, created_at) VALUES ($1, 'http', 'RETENTION_PROBE', 'x', $2)`,
        [teamA, at],
      );
    }
    const result = await t.app.get(RetentionService).purge();
    expect(result.auditLogs).toBeGreaterThanOrEqual(1);
    expect(result.errorLogs).toBeGreaterThanOrEqual(1);
    const audits = await ds.query(`SELECT created_at FROM audit_logs WHERE action = 'retention.probe'`);
    const errors = await ds.query(`SELECT created_at FROM error_logs WHERE code = 'RETENTION_PROBE'`);
    expect(audits).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(new Date(audits[0].created_at).getTime()).toBe(recent.getTime());
  });

  it('reads error log rows only for the given team, newest first, paged exactly by (createdAt, id)', async () => {
    const svc = t.app.get(ErrorLogService);
    // Many rows in the same millisecond: the keyset cursor must neither skip nor repeat any.
    const at = new Date();
    for (let i = 0; i < 7; i++) {
      await ds.query(
        `INSERT INTO error_logs (team_id, source, code, message, created_at) VALUES ($1, 'llm', 'UPSTREAM_FAILED', $2, $3)`,
        [teamA, `a${i}`, at],
      );
    }
    svc.record({ teamId: teamB, source: 'http', code: 'INTERNAL', message: 'b' });
    svc.record({ teamId: null, source: 'http', code: 'INTERNAL', message: 'no team: metrics only' });
    await svc.flush();

    const repo = t.app.get(ErrorLogRepository);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await repo.listForTeam(teamA, { code: 'UPSTREAM_FAILED', limit: 3, cursor });
      seen.push(...page.items.map((r) => r.message));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
    const b = await repo.listForTeam(teamB, { limit: 10 });
    expect(b.items.map((r) => r.message)).toEqual(['b']);
    const orphans = await ds.query(`SELECT count(*)::int AS n FROM error_logs WHERE team_id IS NULL`);
    expect(orphans[0].n).toBe(0);
  });

  it('pages audit rows written in the same millisecond without skipping any', async () => {
    const at = new Date();
    for (let i = 0; i < 5; i++) {
      await ds.query(
        `INSERT INTO audit_logs (team_id, action, created_at) VALUES ($1, 'page.probe', $2::timestamptz + ($3 || ' microseconds')::interval)`,
        [teamB, at, String(i * 100)],
      );
    }
    const repo = t.app.get(AuditRepository);
    const ids = new Set<string>();
    let cursor: string | null = null;
    do {
      const page = await repo.listForTeam(teamB, { action: 'page.probe', limit: 2, cursor });
      page.items.forEach((r) => ids.add(r.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(ids.size).toBe(5);
  });
});
