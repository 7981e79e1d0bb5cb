import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

export const TEST_TMP = join(__dirname, '..', '..', '.test-tmp');
export const PGLITE_TEMPLATE = join(TEST_TMP, 'pglite-template');

/**
 * PGlite's first start runs initdb (5–11 s). Do it once per test run into a template directory that
 * every test app copies (see ../shared/STACK.md). Against a real server (TEST_DATABASE_URL) each app
 * creates its own database instead, so nothing is needed here.
 */
export default async function globalSetup(): Promise<void> {
  mkdirSync(TEST_TMP, { recursive: true });
  if (process.env.TEST_DATABASE_URL) return;
  if (existsSync(join(PGLITE_TEMPLATE, 'PG_VERSION'))) return;
  rmSync(PGLITE_TEMPLATE, { recursive: true, force: true });
  const db = await PGlite.create(PGLITE_TEMPLATE);
  await db.query('select 1');
  await db.close();
}
