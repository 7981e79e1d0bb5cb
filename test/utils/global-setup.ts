import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedPostgres, startEmbeddedPostgres } from '../../src/database/embedded-postgres';

export const TEST_TMP = join(__dirname, '..', '..', '.test-tmp');

/** Where the run's embedded cluster is announced to the test files (same process or inherited by workers). */
export const EMBEDDED_URL_ENV = 'EMBEDDED_TEST_DATABASE_URL';

declare global {
  var __embeddedTestPostgres: { pg: EmbeddedPostgres; dir: string } | undefined;
}

/**
 * One embedded PostgreSQL cluster per test run (a fresh initdb in a private directory, so concurrent runs
 * in one checkout never share a server); each test app creates its own database in it and drops it
 * afterwards, exactly as against the real server (TEST_DATABASE_URL, where nothing is started here).
 */
export default async function globalSetup(): Promise<void> {
  mkdirSync(TEST_TMP, { recursive: true });
  if (process.env.TEST_DATABASE_URL) return;
  const dir = mkdtempSync(join(TEST_TMP, 'pg-'));
  const pg = await startEmbeddedPostgres({
    dataDir: join(dir, 'data'),
    noSync: true,
    // Test apps come and go (one pool each, several apps per file); durability is not needed for a throw-away cluster.
    settings: { max_connections: '300', fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  globalThis.__embeddedTestPostgres = { pg, dir };
  process.env[EMBEDDED_URL_ENV] = pg.url;
}
