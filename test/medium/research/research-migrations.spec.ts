import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { withTestApp } from 'test/utils/test-app';
import { ResearchRunLeasesAndRetention1763804100000 } from '../../../migrations/1763804100000-ResearchRunLeasesAndRetention';

describe('Research migrations', () => {
  const t = withTestApp();

  it('reverts the lease/retention migration with down() and applies it again, back-filling the terminal event ids', async () => {
    const q = t.app.get(DataSource).createQueryRunner();
    const migration = new ResearchRunLeasesAndRetention1763804100000();
    const columns = async () =>
      (
        await q.query(
          `SELECT column_name FROM information_schema.columns WHERE table_name = 'research_sessions' AND column_name IN ('lease_owner', 'lease_expires_at', 'final_event_id') ORDER BY 1`,
        )
      ).map((r: { column_name: string }) => r.column_name);
    try {
      expect(await columns()).toEqual(['final_event_id', 'lease_expires_at', 'lease_owner']);
      await migration.down(q);
      expect(await columns()).toEqual([]);

      const [team, user] = [randomUUID(), randomUUID()];
      await q.query(
        `INSERT INTO research_sessions (id, team_id, user_id, status, run_no) VALUES ('done', $1, $2, 'completed', 2), ('going', $1, $2, 'running', 1)`,
        [team, user],
      );
      const events: Array<[string, number, number, string]> = [
        ['done', 1, 1, 'research_started'],
        ['done', 1, 2, 'research_complete'],
        ['done', 2, 1, 'research_started'],
        ['done', 2, 2, 'research_progress'],
        ['done', 2, 3, 'research_complete'],
        ['going', 1, 1, 'research_started'],
      ];
      for (const [id, run, seq, type] of events) {
        await q.query(
          `INSERT INTO research_events (session_id, team_id, user_id, run_no, seq, type, data) VALUES ($1, $2, $3, $4, $5, $6, '{}')`,
          [id, team, user, run, seq, type],
        );
      }

      await migration.up(q);
      expect(await columns()).toEqual(['final_event_id', 'lease_expires_at', 'lease_owner']);
      const rows = await q.query(`SELECT id, final_event_id FROM research_sessions WHERE team_id = $1 ORDER BY id`, [
        team,
      ]);
      expect(rows).toEqual([
        { id: 'done', final_event_id: '2-3' },
        { id: 'going', final_event_id: null },
      ]);
    } finally {
      await q.release();
    }
  });
});
