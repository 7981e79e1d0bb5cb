import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { createBenchDatabase } from 'bench/lib/pg';
import { cpuMs } from 'bench/lib/proc';
import { startPrivateRedis } from 'bench/lib/redis';
import { startService } from 'bench/lib/server';

/**
 * CPU and wall time per request of the service's request pipeline, one request at a time on one keep-alive
 * connection (issue 18, session 8): `GET /health/live` (public: Express, Nest, no guard work) and
 * `GET /api/auth/me` (the guards with a bearer token, one cached member read). Not a target; it is what
 * `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"` profiles to see a request's fixed cost on its own.
 *   node dist/bench/req-cpu.js [N=2000]
 * On this VM one run moves ±15 % from the next: compare a change by its share of a profile, not by two runs.
 */
const N = Number(process.argv[2] ?? 2000);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(url: string, token?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      res.resume();
      res.once('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
}

async function post<T>(url: string, body: unknown): Promise<T> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await r.json()) as T;
}

async function main(): Promise<void> {
  const redis = await startPrivateRedis();
  const db = await createBenchDatabase(process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const svc = await startService({
    THROTTLE_LIMIT: '100000000',
    AUTH_LOGIN_RATE_LIMIT: '1000',
    AUTH_REGISTER_RATE_LIMIT: '1000',
    DATABASE_URL: db.url,
    REDIS_URL: redis?.url ?? process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `rc:${randomBytes(4).toString('hex')}:`,
  });
  try {
    const email = `rc-${Date.now()}@example.com`;
    const password = 'bench-Passw0rd-long';
    await post(`${svc.url}/api/auth/register`, { email, password, teamName: 'RC' });
    const { accessToken } = await post<{ accessToken: string }>(`${svc.url}/api/auth/login`, { email, password });
    const routes: [string, string, string | undefined][] = [
      ['GET /health/live', `${svc.url}/health/live`, undefined],
      ['GET /api/auth/me', `${svc.url}/api/auth/me`, accessToken],
    ];
    for (const [name, url, token] of routes) {
      for (let i = 0; i < 200; i++) await get(url, token); // warm-up
      const c0 = cpuMs(svc.pid);
      const t0 = performance.now();
      for (let i = 0; i < N; i++) await get(url, token);
      const wall = (performance.now() - t0) / N;
      const cpu = (cpuMs(svc.pid) - c0) / N;
      process.stdout.write(`${name}: ${cpu.toFixed(3)} ms CPU, ${wall.toFixed(3)} ms wall per request (${N})\n`);
    }
  } finally {
    await svc.stop();
    agent.destroy();
    await db.drop();
    await redis?.stop();
  }
}

void main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
