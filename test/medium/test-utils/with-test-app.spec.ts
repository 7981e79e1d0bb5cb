import { Client } from 'pg';
import { EMBEDDED_URL_ENV } from 'test/utils/global-setup';
import { TestApp, withTestApp } from 'test/utils/test-app';

/** The shared fixture itself: one app per block, on its own database, gone after the block. */
describe('withTestApp()', () => {
  const adminUrl = () => (process.env.TEST_DATABASE_URL ?? process.env[EMBEDDED_URL_ENV])!;
  const databaseOf = (t: TestApp) => new URL(t.config.db.url!).pathname.slice(1);
  const exists = async (name: string) => {
    const c = new Client({ connectionString: adminUrl() });
    await c.connect();
    try {
      return (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
    } finally {
      await c.end();
    }
  };
  const seen: string[] = [];

  describe('a block with its own app', () => {
    const t = withTestApp({ env: { THROTTLE_LIMIT: '7' } });

    it('serves the app, on a database of its own, with the options given', async () => {
      await t.http().get('/health/live').expect(200);
      expect(t.config.throttle.limit).toBe(7);
      seen.push(databaseOf(t));
      expect(await exists(seen[0])).toBe(true);
    });
  });

  describe('a second block, options from a function run at boot', () => {
    let limit = '0';
    beforeAll(() => {
      limit = '9';
    });
    const t = withTestApp(() => ({ env: { THROTTLE_LIMIT: limit } }));

    it('gets another database, and the value set by the earlier hook', () => {
      expect(t.config.throttle.limit).toBe(9);
      seen.push(databaseOf(t));
      expect(seen[1]).not.toBe(seen[0]);
    });
  });

  describe('a handle read while the block is being defined', () => {
    const t = withTestApp();
    let error: unknown;
    try {
      void t.url;
    } catch (err) {
      error = err;
    }

    it('had thrown: the app does not exist before the beforeAll of its block', () => {
      expect(String(error)).toMatch(/outside the block's tests/);
      expect(t.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      seen.push(databaseOf(t));
    });
  });

  afterAll(async () => {
    // Every block's afterAll ran: their databases are dropped.
    expect(seen).toHaveLength(3);
    for (const name of seen) expect(await exists(name)).toBe(false);
  });
});
