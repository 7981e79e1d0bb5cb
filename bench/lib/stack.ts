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

/** A JSON call to the service (with a bearer token when given); throws on a non-2xx answer. */
export async function api<T>(
  base: string,
  path: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<T> {
  const r = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${init.method ?? 'GET'} ${path} → ${r.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The service's rate limits and generation cap out of the way of a benchmark. */
export const BENCH_LIMITS: Record<string, string> = {
  THROTTLE_LIMIT: '100000000',
  CHAT_MESSAGES_PER_MINUTE: '100000000',
  CHAT_MAX_CONCURRENT_GENERATIONS: '100000',
  AUTH_LOGIN_RATE_LIMIT: '1000',
  AUTH_REGISTER_RATE_LIMIT: '1000',
};

/** Registers a user with a team of its own and returns the user's access token. */
export async function registerUser(base: string, name: string): Promise<string> {
  const email = `${name}-${Date.now()}@example.com`;
  const password = 'bench-Passw0rd-long';
  await api(base, '/api/auth/register', {
    method: 'POST',
    body: { email, password, teamName: `${name} ${Date.now()}` },
  });
  const login = await api<{ accessToken: string }>(base, '/api/auth/login', {
    method: 'POST',
    body: { email, password },
  });
  return login.accessToken;
}

/**
 * Starts the stack the small bench scripts (send-parts, req-cpu) share: `BENCH_LIMITS` plus `env`. `stop()` stops the service and drops what it created.
 */
export async function startBenchStack(name: string, env: Record<string, string> = {}): Promise<BenchStack> {
  const redis = await startPrivateRedis();
  const db: BenchDatabase = await createBenchDatabase(
    process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  );
  const svc = await startService({
    ...BENCH_LIMITS,
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
    return { svc, token: await registerUser(svc.url, name), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
