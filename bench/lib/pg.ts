import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';

/**
 * The bench's own PostgreSQL database on the machine's server: created fresh for a run and dropped after,
 * so that pg_stat_database counts only the service under test.
 */
export interface BenchDatabase {
  name: string;
  url: string;
  /** Seeds a linear history of `count` messages (user/assistant alternating) into an existing chat. */
  seedHistory(chatId: string, count: number): Promise<void>;
  /** ANALYZE, as autovacuum would after a bulk insert: the planner then knows the seeded table's size. */
  analyze(): Promise<void>;
  /** Cumulative counters of the bench database (pg_stat_database). */
  stats(): Promise<DbStats>;
  drop(): Promise<void>;
}

export interface DbStats {
  xactCommit: number;
  tupInserted: number;
  tupUpdated: number;
  tupDeleted: number;
}

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  let db: Client | null = null;
  const dbClient = async () => {
    if (!db) {
      db = new Client({ connectionString: url });
      await db.connect();
    }
    return db;
  };
  // Each read sees the current counters, not a snapshot cached for the transaction.
  await admin.query(`SET stats_fetch_consistency = 'none'`).catch(() => undefined);
  return {
    name,
    url,
    async seedHistory(chatId, count) {
      const c = await dbClient();
      const { rows } = await c.query<{ team_id: string }>('SELECT team_id FROM chats WHERE id = $1', [chatId]);
      const teamId = rows[0].team_id;
      const ids = Array.from({ length: count }, () => randomUUID());
      const parents = ids.map((_, i) => (i === 0 ? null : ids[i - 1]));
      const roles = ids.map((_, i) => (i % 2 === 0 ? 'user' : 'assistant'));
      const contents = ids.map((_, i) => `history message ${i} of ${count}: some words to make it a sentence.`);
      const ages = ids.map((_, i) => count - i);
      await c.query(
        `INSERT INTO messages (id, team_id, chat_id, parent_id, role, content, status, created_at, updated_at)
         SELECT id, $1, $2, parent, role, content, 'complete', now() - make_interval(secs => age), now() - make_interval(secs => age)
           FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::int[]) AS t(id, parent, role, content, age)`,
        [teamId, chatId, ids, parents, roles, contents, ages],
      );
    },
    async analyze() {
      await (await dbClient()).query('ANALYZE messages');
    },
    async stats() {
      const { rows } = await admin.query<{ x: string }>(
        'SELECT xact_commit AS x FROM pg_stat_database WHERE datname = $1',
        [name],
      );
      // Rows of the service's tables (pg_stat_user_tables): pg_stat_database would also count the TOAST chunks
      // a long content rewrites, which are not statements. Read on a fresh connection's view of the counters.
      const c = await dbClient();
      await c.query(`SET stats_fetch_consistency = 'none'`).catch(() => undefined);
      const t = await c.query<{ i: string; u: string; d: string }>(
        'SELECT COALESCE(sum(n_tup_ins), 0) AS i, COALESCE(sum(n_tup_upd), 0) AS u, COALESCE(sum(n_tup_del), 0) AS d FROM pg_stat_user_tables',
      );
      const r = t.rows[0];
      return {
        xactCommit: Number(rows[0].x),
        tupInserted: Number(r.i),
        tupUpdated: Number(r.u),
        tupDeleted: Number(r.d),
      };
    },
    async drop() {
      if (db) await db.end().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    },
  };
}
