import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgres, startEmbeddedPostgres, withClient } from 'src/database/embedded-postgres';
import { EMBEDDED_URL_ENV, TEST_TMP } from 'test/utils/global-setup';

/** The embedded PostgreSQL on its own: who can reach it, what it leaves behind, what it survives. */
describe('embedded PostgreSQL', () => {
  let root: string;
  let pg: EmbeddedPostgres;
  const warnings: string[] = [];
  const logger = { log: () => undefined, warn: (m: string) => warnings.push(m) };
  const dataDir = () => join(root, 'postgres');

  beforeAll(async () => {
    root = mkdtempSync(join(TEST_TMP, 'epg-'));
    pg = await startEmbeddedPostgres({ dataDir: dataDir(), logger, noSync: true });
  });
  afterAll(async () => {
    await pg?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('answers over its Unix socket with the generated credentials, and listens on no TCP address', async () => {
    const rows = await withClient(
      pg.url,
      async (c) => (await c.query<{ listen_addresses: string }>('SHOW listen_addresses')).rows,
    );
    expect(rows[0].listen_addresses).toBe('');
    expect(pg.socketDir.startsWith('/')).toBe(true);
    expect(existsSync(join(pg.socketDir, `.s.PGSQL.${pg.port}`))).toBe(true);
  });

  it('refuses a connection without the generated password or with a wrong one', async () => {
    const attempt = async (password?: string) => {
      const c = new Client({ host: pg.socketDir, port: pg.port, user: 'postgres', database: 'postgres', password });
      try {
        await c.connect();
        return 'connected';
      } catch (err) {
        return (err as Error).message;
      } finally {
        await c.end().catch(() => undefined);
      }
    };
    expect(await attempt(undefined)).toMatch(/password/i);
    expect(await attempt('')).toMatch(/password/i);
    expect(await attempt('postgres')).toMatch(/password authentication failed/);
    expect(await attempt(`${pg.password}x`)).toMatch(/password authentication failed/);
    expect(await attempt(pg.password)).toBe('connected');
  });

  it('keeps the password in a 0600 file and the data directory (holding the socket) at 0700', () => {
    expect(statSync(`${dataDir()}.password`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${dataDir()}.password`, 'utf8').trim()).toBe(pg.password);
    expect(statSync(dataDir()).mode & 0o777).toBe(0o700);
  });

  it('does not collide with another cluster on the same machine (the run-wide test cluster)', async () => {
    const other = process.env[EMBEDDED_URL_ENV];
    if (!other) return; // TEST_DATABASE_URL pass: no run-wide embedded cluster
    const mine = await withClient(
      pg.url,
      async (c) => (await c.query<{ d: string }>("SELECT current_setting('data_directory') AS d")).rows[0].d,
    );
    const theirs = await withClient(
      other,
      async (c) => (await c.query<{ d: string }>("SELECT current_setting('data_directory') AS d")).rows[0].d,
    );
    expect(mine).toBe(dataDir());
    expect(theirs).not.toBe(mine);
  });

  it('keeps data across a restart, and starts over a stale postmaster.pid whose PID another program now uses', async () => {
    await withClient(pg.url, (c) => c.query("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('one')"));
    await pg.stop();
    // A PID that is alive but is not PostgreSQL (this jest process): PostgreSQL itself would refuse to start.
    writeFileSync(join(dataDir(), 'postmaster.pid'), `${process.pid}\n${dataDir()}\n`);
    warnings.length = 0;
    pg = await startEmbeddedPostgres({ dataDir: dataDir(), logger, noSync: true });
    expect(warnings.join('\n')).toMatch(new RegExp(`PID ${process.pid} now belongs to another program`));
    const rows = await withClient(pg.url, async (c) => (await c.query<{ v: string }>('SELECT v FROM kept')).rows);
    expect(rows).toEqual([{ v: 'one' }]);
  });

  it('puts the socket in a private directory under the OS temp dir when the data directory path is too long for one', async () => {
    const deep = join(root, 'a'.repeat(60), 'b'.repeat(40), 'postgres');
    const long = await startEmbeddedPostgres({ dataDir: deep, noSync: true });
    try {
      expect(long.socketDir.startsWith(tmpdir())).toBe(true);
      expect(statSync(long.socketDir).mode & 0o777).toBe(0o700);
      await withClient(long.url, (c) => c.query('SELECT 1'));
    } finally {
      await long.stop();
      rmSync(long.socketDir, { recursive: true, force: true });
    }
  });
});
