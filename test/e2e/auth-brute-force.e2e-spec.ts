import { DataSource } from 'typeorm';
import { AuditService } from 'src/common/audit/audit.service';
import { registerTeam, Session } from 'test/factories/auth.factory';
import { createTestApp, TestApp } from 'test/utils/test-app';

/**
 * Small thresholds so that the rules can be exercised: per account 3 failures → 2 s, 5 → 900 s; per IP
 * 6 failures → 1200 s; 10 logins and 3 registrations per IP per minute. Each test speaks from its own client
 * address (X-Forwarded-For with TRUST_PROXY) so that the per-IP counters of one test do not touch another.
 */
describe('Auth: brute-force defence', () => {
  let t: TestApp;
  let victim: Session;
  let accounts: Session[];
  const ALLOWED_IP = '10.9.9.9';

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        TRUST_PROXY: 'true',
        AUTH_LOCKOUT_STEPS: '3:2,5:900',
        AUTH_IP_LOCKOUT_STEPS: '6:1200',
        AUTH_LOGIN_RATE_LIMIT: '10',
        AUTH_REGISTER_RATE_LIMIT: '5',
        AUTH_LOCKOUT_ALLOWLIST: ALLOWED_IP,
      },
    });
    // Every account up front (from 127.0.0.1): the registration limit below is per address.
    accounts = [];
    for (let i = 0; i < 4; i++) accounts.push(await registerTeam(t));
    victim = accounts[3];
  });
  afterAll(async () => {
    await t?.app.get(AuditService).flush();
    await t?.close();
  });

  const attempt = (ip: string, email: string, password: string) =>
    t.http().post('/api/auth/login').set('X-Forwarded-For', ip).send({ email, password });

  it('locks an account progressively (warning → temporary → extended) with 429 RATE_LIMITED and Retry-After, and audits it', async () => {
    const s = accounts[0];
    const ip = '10.0.0.1';
    const first = await attempt(ip, s.email, 'Wrong-password-1');
    expect(first.status).toBe(401);
    const warned = await attempt(ip, s.email, 'Wrong-password-2');
    expect(warned.status).toBe(401);
    expect(warned.body.details.attemptsBeforeLockout).toBe(1); // the warning stage
    const locked = await attempt(ip, s.email, 'Wrong-password-3');
    expect(locked.status).toBe(429);
    expect(locked.body.error).toBe('RATE_LIMITED');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(2);
    // Locked even with the right password, and from another address (the lock is on the account).
    expect((await attempt(ip, s.email, s.password)).status).toBe(429);
    expect((await attempt('10.0.0.2', s.email, s.password)).status).toBe(429);

    await new Promise((r) => setTimeout(r, 2300)); // the temporary lock runs out
    expect((await attempt(ip, s.email, 'Wrong-password-4')).status).toBe(401);
    const extended = await attempt(ip, s.email, 'Wrong-password-5');
    expect(extended.status).toBe(429);
    expect(Number(extended.headers['retry-after'])).toBeGreaterThan(800);

    await t.app.get(AuditService).flush();
    const rows = await t.app
      .get(DataSource)
      .query(`SELECT metadata FROM audit_logs WHERE action = 'auth.lockout' AND user_id = $1`, [s.userId]);
    expect(
      rows
        .map((r: { metadata: { lockSeconds: number } }) => r.metadata.lockSeconds)
        .sort((a: number, b: number) => a - b),
    ).toEqual([2, 900]);
  });

  it('locks a client address that fails against many accounts, without locking those accounts elsewhere', async () => {
    const ip = '10.0.1.1';
    for (let i = 0; i < 5; i++)
      expect((await attempt(ip, `nobody-${i}@example.test`, 'Wrong-password-1')).status).toBe(401);
    const locked = await attempt(ip, 'nobody-5@example.test', 'Wrong-password-1');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(1000);
    expect((await attempt(ip, victim.email, victim.password)).status).toBe(429);
    expect((await attempt('10.0.1.2', victim.email, victim.password)).status).toBe(200);
  });

  it('never locks out an allow-listed address', async () => {
    const s = accounts[1];
    for (let i = 0; i < 7; i++) expect((await attempt(ALLOWED_IP, s.email, `Wrong-password-${i}`)).status).toBe(401);
    expect((await attempt(ALLOWED_IP, s.email, s.password)).status).toBe(200);
  });

  it('rate-limits logins per client address (429 with Retry-After)', async () => {
    const ip = '10.0.2.1';
    for (let i = 0; i < 10; i++) expect((await attempt(ip, victim.email, victim.password)).status).toBe(200);
    const limited = await attempt(ip, victim.email, victim.password);
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await attempt('10.0.2.2', victim.email, victim.password)).status).toBe(200);
  });

  it('rate-limits registrations per client address', async () => {
    const ip = '10.0.3.1';
    const register = () =>
      t
        .http()
        .post('/api/auth/register')
        .set('X-Forwarded-For', ip)
        .send({ email: `r-${Math.random()}@example.test`, password: 'Str0ng-Pass-abc-def', teamName: 'R' });
    for (let i = 0; i < 5; i++) expect((await register()).status).toBe(201);
    const limited = await register();
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
  });

  it('clears the account failures after a successful login', async () => {
    const s = accounts[2];
    const ip = '10.0.4.1';
    await attempt(ip, s.email, 'Wrong-password-1').expect(401);
    await attempt(ip, s.email, 'Wrong-password-2').expect(401);
    await attempt(ip, s.email, s.password).expect(200);
    await attempt(ip, s.email, 'Wrong-password-3').expect(401);
    await attempt(ip, s.email, 'Wrong-password-4').expect(401);
  });
});
