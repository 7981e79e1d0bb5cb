import { Client } from 'pg';
import { registerTeam, Session } from 'test/factories/auth.factory';
import { createTestApp, TestApp } from 'test/utils/test-app';

const adminUrl = process.env.TEST_DATABASE_URL;
const describeOnServer = adminUrl ? describe : describe.skip;
if (!adminUrl) {
  // eslint-disable-next-line no-console -- says why the suite is skipped
  console.warn(
    'degradation-database: skipped in embedded mode (the embedded database lives in the test process and cannot be ' +
      'taken away from it); runs with TEST_DATABASE_URL, as in CI',
  );
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await cond()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * PostgreSQL "down" for this app only: its database stops accepting connections and its backends are
 * terminated (what a stop does to the app), while the server keeps serving the other tests' databases.
 */
async function setDatabaseAvailable(dbName: string, available: boolean): Promise<void> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS ${available ? 'true' : 'false'}`);
    if (!available)
      await c.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [dbName],
      );
  } finally {
    await c.end();
  }
}

describeOnServer('Degradation without PostgreSQL', () => {
  let t: TestApp;
  let admin: Session;
  let dbName: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { BREAKER_MIN_REQUESTS: '3', BREAKER_RESET_TIMEOUT_MS: '1000' } });
    dbName = new URL(t.config.db.url!).pathname.slice(1);
    admin = await registerTeam(t);
    await setDatabaseAvailable(dbName, false);
  }, 180_000);
  afterAll(async () => {
    if (dbName) await setDatabaseAvailable(dbName, true).catch(() => undefined);
    await t?.close();
  });

  it('answers 503 DATABASE_UNAVAILABLE with Retry-After in the contract body, never 500', async () => {
    const start = Date.now();
    const res = await t.http().get('/api/chats').set(admin.bearer);
    expect(Date.now() - start).toBeLessThan(3000);
    expect(res.status).toBe(503);
    expect(res.body).toEqual(
      expect.objectContaining({
        statusCode: 503,
        error: 'DATABASE_UNAVAILABLE',
        message: expect.any(String),
        details: expect.objectContaining({ dependency: 'database' }),
        timestamp: expect.any(String),
        correlationId: expect.any(String),
      }),
    );
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const login = await t
      .http()
      .post('/api/auth/login')
      .send({ email: admin.email, password: admin.password, team: admin.teamSlug });
    expect([login.status, login.body.error]).toEqual([503, 'DATABASE_UNAVAILABLE']);
  });

  it('liveness stays 200; readiness is 503 naming the database', async () => {
    await t.http().get('/health/live').expect(200);
    const ready = await t.http().get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error).toBe('SERVICE_UNAVAILABLE');
    expect(ready.body.details.unavailable).toEqual(['database']);
    expect(Number(ready.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('after the database returns, readiness is 200 within 2 s; routes whose breaker opened are back after its reset', async () => {
    // /api/auth/me fails in the authentication guard (outside the route breaker) or, when the member is cached
    // (with Redis), in its handler (counted): 503 either way, never 500.
    for (let i = 0; i < 4; i++)
      expect(['DATABASE_UNAVAILABLE', 'CIRCUIT_OPEN']).toContain(
        (await t.http().get('/api/auth/me').set(admin.bearer)).body.error,
      );
    // Login fails in its handler: the outage counts against its breaker (BREAKER_MIN_REQUESTS=3), which opens.
    const logins: string[] = [];
    for (let i = 0; i < 5; i++)
      logins.push(
        (
          await t
            .http()
            .post('/api/auth/login')
            .send({ email: admin.email, password: admin.password, team: admin.teamSlug })
        ).body.error,
      );
    expect(logins).toContain('CIRCUIT_OPEN');
    expect(logins.every((s) => s === 'DATABASE_UNAVAILABLE' || s === 'CIRCUIT_OPEN')).toBe(true);

    await setDatabaseAvailable(dbName, true);
    const readyMs = await waitFor(
      'readiness 200',
      async () => (await t.http().get('/health/ready')).status === 200,
      2000,
    );
    expect(readyMs).toBeLessThan(2000);
    // BREAKER_RESET_TIMEOUT_MS=1000 here (default 5000): the first request after it is the half-open probe.
    await waitFor(
      '/api/auth/me 200',
      async () => (await t.http().get('/api/auth/me').set(admin.bearer)).status === 200,
      3000,
    );
    await waitFor(
      'login 200',
      async () =>
        (
          await t
            .http()
            .post('/api/auth/login')
            .send({ email: admin.email, password: admin.password, team: admin.teamSlug })
        ).status === 200,
      4000,
    );
    await t.http().get('/api/chats').set(admin.bearer).expect(200);
  });
});
