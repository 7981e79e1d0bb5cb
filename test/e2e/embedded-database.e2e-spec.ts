import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_TMP } from 'test/utils/global-setup';
import { isAlive, ServiceProcess, startServiceProcess, stopAllServiceProcesses } from 'test/utils/service-process';

/**
 * The real service as a child process (src/main.ts) on its default embedded PostgreSQL under DATA_DIR:
 * SIGKILL and restart, graceful shutdown, the production guard, and cookie auth from a local origin in
 * development. These start their own server, so they do not depend on the test tier (they are skipped in
 * the TEST_DATABASE_URL pass, which does not touch the embedded database).
 */
const embeddedTier = process.env.TEST_DATABASE_URL ? describe.skip : describe;
// A child boots from source (SWC on require), and initdb runs on first start: minutes on a loaded machine.
jest.setTimeout(300_000);
const ADMIN = { email: 'admin@example.com', password: 'Embedded-Boot-Pass-7', team: 'default' };

function postmasterPid(dataDir: string): number {
  return Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

async function login(svc: ServiceProcess, body: Record<string, string>): Promise<{ status: number; cookie: string }> {
  const res = await fetch(`${svc.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  return { status: res.status, cookie };
}

embeddedTier('the service on its embedded PostgreSQL (child process)', () => {
  let dataDir: string;
  let svc: ServiceProcess | undefined;
  const env = () => ({
    NODE_ENV: 'development',
    DATA_DIR: dataDir,
    BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    AUTH_HASH_CONCURRENCY: '1',
  });

  beforeAll(() => {
    dataDir = mkdtempSync(join(TEST_TMP, 'svc-'));
    chmodSync(dataDir, 0o755);
  });
  afterAll(async () => {
    await stopAllServiceProcesses();
    // A postmaster left by a child that was killed (a failed test): stop it before removing its directory.
    try {
      const pid = postmasterPid(dataDir);
      if (isAlive(pid)) process.kill(pid, 'SIGINT');
      for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    } catch {
      // no postmaster.pid: nothing runs
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('accepts a cookie-authenticated write from http://localhost:<PORT> in development, refuses a foreign origin', async () => {
    svc = await startServiceProcess(env());
    const { status, cookie } = await login(svc, ADMIN);
    expect(status).toBe(200);
    const invite = (origin: string) =>
      fetch(`${svc!.url}/api/teams/current/invites`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, origin },
        body: JSON.stringify({ role: 'user' }),
      });
    expect((await invite(`http://localhost:${svc.port}`)).status).toBe(201);
    expect((await invite(`http://127.0.0.1:${svc.port}`)).status).toBe(201);
    expect((await invite('https://evil.example')).status).toBe(403);
  });

  it('comes back with its data after kill -9, stopping the orphaned postmaster, and stops PostgreSQL on SIGTERM', async () => {
    // Data written by the first run (from the previous test): a second team.
    const team = { email: 'kept@example.test', password: 'Across-Kill-Nine-42', teamName: 'Survives' };
    const reg = await fetch(`${svc!.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(team),
    });
    expect(reg.status).toBe(201);
    const orphan = postmasterPid(dataDir);
    expect(isAlive(orphan)).toBe(true);

    svc!.proc.kill('SIGKILL');
    await svc!.exited;
    expect(isAlive(orphan)).toBe(true); // PostgreSQL outlived the service

    svc = await startServiceProcess(env());
    expect(svc.output()).toContain(`orphaned PostgreSQL server (PID ${orphan})`);
    expect(svc.output()).toMatch(/bootstrap admin .*admin@example\.com.* exists/i);
    expect(isAlive(orphan)).toBe(false);
    expect((await login(svc, { email: team.email, password: team.password })).status).toBe(200);
    expect((await login(svc, ADMIN)).status).toBe(200);

    const postmaster = postmasterPid(dataDir);
    svc.proc.kill('SIGTERM');
    expect((await svc.exited).code).toBe(0);
    expect(isAlive(postmaster)).toBe(false);
  });
});

describe('production without DATABASE_URL', () => {
  it('refuses to start and says how to use the embedded database deliberately', async () => {
    const dir = mkdtempSync(join(TEST_TMP, 'prod-'));
    try {
      const start = startServiceProcess({
        NODE_ENV: 'production',
        DATA_DIR: dir,
        JWT_SECRET: 'p'.repeat(48),
        ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
        CORS_ORIGINS: 'https://app.example.com',
      });
      await expect(start).rejects.toThrow(
        /exited \(code 1[\s\S]*DATABASE_URL is required in production[\s\S]*EMBEDDED_DATABASE=true/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
