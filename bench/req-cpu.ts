import http from 'node:http';
import { cpuMs } from 'bench/lib/proc';
import { startBenchStack } from 'bench/lib/stack';

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

async function main(): Promise<void> {
  const { svc, token: accessToken, stop } = await startBenchStack('reqcpu');
  try {
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
    await stop();
    agent.destroy();
  }
}

void main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
