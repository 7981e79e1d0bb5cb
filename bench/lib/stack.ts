import { randomBytes } from 'node:crypto';
import { BenchDatabase, createBenchDatabase } from 'bench/lib/pg';
import { startPrivateRedis } from 'bench/lib/redis';
import { ServiceProcess, startService } from 'bench/lib/server';

/** The service on a fresh bench database and a private redis-server, with one registered user's access token. */
export interface BenchStack {
  svc: ServiceProcess;
  token: string;
  stop: () => Promise<void>;
}

/** POSTs JSON (with a bearer token when given) and returns the parsed answer. */
export async function postJson<T>(url: string, body: unknown, token?: string): Promise<T> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return (await r.json()) as T;
}

/**
 * Starts the stack the small bench scripts (send-parts, req-cpu) share: rate limits out of the way, as in `run.ts`,
 * plus `env`. `stop()` stops the service and drops what it created.
 */
export async function startBenchStack(name: string, env: Record<string, string> = {}): Promise<BenchStack> {
  const redis = await startPrivateRedis();
  const db: BenchDatabase = await createBenchDatabase(
    process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  );
  const svc = await startService({
    THROTTLE_LIMIT: '100000000',
    CHAT_MESSAGES_PER_MINUTE: '100000000',
    CHAT_MAX_CONCURRENT_GENERATIONS: '100000',
    AUTH_LOGIN_RATE_LIMIT: '1000',
    AUTH_REGISTER_RATE_LIMIT: '1000',
    DATABASE_URL: db.url,
    REDIS_URL: redis?.url ?? process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `${name}:${randomBytes(4).toString('hex')}:`,
    ...env,
  });
  const stop = async (): Promise<void> => {
    await svc.stop();
    await db.drop();
    await redis?.stop();
  };
  try {
    const email = `${name}-${Date.now()}@example.com`;
    const password = 'bench-Passw0rd-long';
    await postJson(`${svc.url}/api/auth/register`, { email, password, teamName: name });
    const { accessToken } = await postJson<{ accessToken: string }>(`${svc.url}/api/auth/login`, { email, password });
    return { svc, token: accessToken, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
