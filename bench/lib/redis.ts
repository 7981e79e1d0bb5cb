import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import Redis from 'ioredis';

/**
 * A redis-server of the bench's own (no persistence), so that its counters count only the service: other
 * work on the machine's Redis (test suites, other benches) neither slows the bench's Redis nor shows in them.
 * Null when there is no `redis-server` binary (then the bench uses BENCH_REDIS_URL's server and prints no
 * Redis figures).
 */
export async function startPrivateRedis(): Promise<{ url: string; stop: () => Promise<void> } | null> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) return null;
  const port = await new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const proc: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      break;
    } catch {
      c.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export interface RedisCounters {
  /** Socket reads Redis processed: one per request or pipeline a client sent (a round trip). */
  reads: number;
  /** Commands by name, including those a Lua script ran. */
  commands: Record<string, number>;
}

/** Reads the counters on a connection of its own (the INFO itself adds one read and one command). */
export async function redisCounters(url: string): Promise<RedisCounters> {
  const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableReadyCheck: false });
  try {
    await c.connect();
    const stats = await c.info('stats');
    const cmd = await c.info('commandstats');
    const reads = Number(/total_reads_processed:(\d+)/.exec(stats)?.[1] ?? NaN);
    const commands: Record<string, number> = {};
    for (const m of cmd.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) commands[m[1]] = Number(m[2]);
    return { reads, commands };
  } finally {
    c.disconnect();
  }
}

/** What happened between two readings (minus the reading's own connection: connect, two INFOs). */
export function redisDiff(a: RedisCounters, b: RedisCounters): RedisCounters {
  const commands: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.commands)) {
    const d = v - (a.commands[k] ?? 0) - (k === 'info' ? 2 : 0);
    if (d > 0) commands[k] = d;
  }
  return { reads: b.reads - a.reads - 2, commands };
}
