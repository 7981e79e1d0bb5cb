import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { contentOf, readSse, SseEvent, SseRead } from 'test/e2e/chats-sse';
import { freePort, PrivateRedis } from 'test/utils/private-redis';

/**
 * The cluster tier's parts, all real: two built service processes (`node dist/src/main.js`) on the machine's
 * PostgreSQL (a fresh database) and a redis-server of the tier's own (so it can be restarted empty), behind
 * Debian's nginx running deploy/nginx/chat.conf.template (ports filled in) as a non-daemon child with its
 * own prefix, pid and temp directories. Every wait is bounded.
 */
const ROOT = resolve(__dirname, '../..');
const MAIN = join(ROOT, 'dist/src/main.js');
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const METRICS_TOKEN = 'cluster-metrics-token';
export const ADMIN = {
  email: 'cluster-admin@example.com',
  password: `Cluster-${randomBytes(6).toString('hex')}-Pass1`,
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns a value other than undefined/false; throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export class Instance {
  proc: ChildProcess | null = null;
  log = '';
  exit: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const p = spawn(process.execPath, [MAIN], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = p;
    const keep = (b: Buffer) => {
      this.log = (this.log + b.toString()).slice(-20000);
    };
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    this.exit = new Promise((r) => p.once('exit', (code) => r(code)));
    await until(
      `${this.name} ready`,
      async () => {
        if (p.exitCode !== null) throw new Error(`${this.name} exited (${p.exitCode}): ${this.log.slice(-2000)}`);
        return (await fetch(`${this.url}/health/ready`)).status === 200;
      },
      60000,
      200,
    );
  }

  kill9(): Promise<number | null> {
    this.proc?.kill('SIGKILL');
    return this.exit;
  }

  /** SIGTERM (graceful drain) and wait for the exit, at most `timeoutMs`. */
  async stop(timeoutMs = 25000): Promise<number | null> {
    if (!this.proc || this.proc.exitCode !== null) return this.proc?.exitCode ?? null;
    const sent = Date.now();
    this.proc.kill('SIGTERM');
    const code = await Promise.race([this.exit, sleep(timeoutMs).then(() => 'timeout' as const)]);
    // eslint-disable-next-line no-console
    console.log(
      `${this.name}: SIGTERM to exit ${code} in ${Date.now() - sent} ms (SHUTDOWN_TIMEOUT_MS ${this.env.SHUTDOWN_TIMEOUT_MS})`,
    );
    if (code === 'timeout') {
      this.proc.kill('SIGKILL');
      throw new Error(`${this.name} did not stop within ${timeoutMs} ms`);
    }
    return code;
  }

  /** A gauge or counter from this instance's /metrics (summed over labels matching `labels`). */
  async metric(name: string, labels = ''): Promise<number> {
    const text = await (
      await fetch(`${this.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
      if (!m || !(m[1] === name || m[1].endsWith(`_${name}`))) continue;
      if (labels && !(m[2] ?? '').includes(labels)) continue;
      sum += Number(m[3]);
    }
    return sum;
  }
}

export class Nginx {
  private proc: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'cluster-nginx-'));
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Renders deploy/nginx/chat.conf.template (only its own `${NAME}` variables) into a private prefix. */
  async start(upstreams: [string, string]): Promise<void> {
    this.port = await freePort();
    const vars: Record<string, string> = {
      NGINX_LISTEN: `127.0.0.1:${this.port}`,
      APP_UPSTREAM_1: upstreams[0],
      APP_UPSTREAM_2: upstreams[1],
    };
    const template = readFileSync(join(ROOT, 'deploy/nginx/chat.conf.template'), 'utf8');
    const rendered = template.replace(/\$\{(NGINX_LISTEN|APP_UPSTREAM_1|APP_UPSTREAM_2)\}/g, (_, k: string) => vars[k]);
    for (const d of ['tmp', 'tmp/body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi', 'logs'])
      mkdirSync(join(this.dir, d), { recursive: true });
    chmodSync(this.dir, 0o755);
    for (const d of ['tmp', 'tmp/body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi'])
      chmodSync(join(this.dir, d), 0o777);
    writeFileSync(join(this.dir, 'chat.conf'), rendered);
    writeFileSync(
      join(this.dir, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 1;',
        `pid ${this.dir}/nginx.pid;`,
        `error_log ${this.dir}/logs/error.log warn;`,
        'events { worker_connections 1024; }',
        'http {',
        `  access_log ${this.dir}/logs/access.log;`,
        `  client_body_temp_path ${this.dir}/tmp/body;`,
        `  proxy_temp_path ${this.dir}/tmp/proxy;`,
        `  fastcgi_temp_path ${this.dir}/tmp/fastcgi;`,
        `  uwsgi_temp_path ${this.dir}/tmp/uwsgi;`,
        `  scgi_temp_path ${this.dir}/tmp/scgi;`,
        `  include ${this.dir}/chat.conf;`,
        '}',
        '',
      ].join('\n'),
    );
    const test = spawnSync(
      nginxBinary(),
      ['-t', '-p', this.dir, '-c', join(this.dir, 'nginx.conf'), '-e', join(this.dir, 'logs/error.log')],
      { encoding: 'utf8' },
    );
    if (test.status !== 0) throw new Error(`nginx -t failed: ${test.stderr}`);
    this.proc = spawn(
      nginxBinary(),
      ['-p', this.dir, '-c', join(this.dir, 'nginx.conf'), '-e', join(this.dir, 'logs/error.log')],
      { stdio: 'ignore' },
    );
    await until('nginx', async () => (await fetch(`${this.url}/health/live`)).status === 200, 20000, 100);
  }

  /** The tail of nginx's error log (upstream failures), for a failing case's message. */
  errors(lines = 30): string {
    try {
      return readFileSync(join(this.dir, 'logs/error.log'), 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p && p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGQUIT');
      await Promise.race([exited, sleep(5000).then(() => p.kill('SIGKILL'))]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function nginxBinary(): string {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  return 'nginx';
}

export const hasNginx = (): boolean => spawnSync(nginxBinary(), ['-v'], { stdio: 'ignore' }).status === 0;
export const hasBuild = (): boolean => existsSync(MAIN);

/** The whole cluster: database, Redis, two instances, nginx. */
export class Cluster {
  readonly redis = new PrivateRedis();
  readonly nginx = new Nginx();
  instances: Instance[] = [];
  dbName = `cb_cluster_${randomBytes(5).toString('hex')}`;
  dbUrl = '';
  private dirs: string[] = [];

  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    const admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${this.dbName}"`);
    await admin.end();
    const u = new URL(ADMIN_URL);
    u.pathname = `/${this.dbName}`;
    this.dbUrl = u.toString();
    await this.redis.start();
    const ports = [await freePort(), await freePort()];
    const common = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: this.dbUrl,
      REDIS_URL: this.redis.url,
      REDIS_KEY_PREFIX: `cluster-${randomUUID().slice(0, 8)}:`,
      // Both instances must share these (a token signed by one is verified by the other).
      JWT_SECRET: `cluster-${randomBytes(24).toString('hex')}`,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      CORS_ORIGINS: 'http://localhost:5173',
      METRICS_TOKEN,
      BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      TRUST_PROXY: '1',
      THROTTLE_LIMIT: '1000000',
      AUTH_LOGIN_RATE_LIMIT: '100000',
      CHAT_MESSAGES_PER_MINUTE: '100000',
      CHAT_MAX_CONCURRENT_GENERATIONS: '200',
      // Short leases: a reply whose instance died is finished (INTERRUPTED) by the other within seconds.
      CHAT_LEASE_MS: '2000',
      CHAT_PERSIST_INTERVAL_MS: '100',
      // Each SIGTERM must end within it, exit code 0 (docs/reliability.md, "Shutdown within its budget").
      SHUTDOWN_TIMEOUT_MS: '15000',
      SSE_HEARTBEAT_MS: '2000',
      ...extraEnv,
    };
    for (const [i, port] of ports.entries()) {
      const dir = mkdtempSync(join(tmpdir(), `cluster-app${i + 1}-`));
      this.dirs.push(dir);
      this.instances.push(new Instance(`app${i + 1}`, port, { ...common, DATA_DIR: dir }));
    }
    // One after the other: only one runs the migrations and creates the bootstrap admin.
    for (const inst of this.instances) await inst.start();
    await this.nginx.start([`127.0.0.1:${ports[0]}`, `127.0.0.1:${ports[1]}`]);
  }

  async stop(): Promise<void> {
    await this.nginx.stop().catch(() => undefined);
    for (const i of this.instances) await i.kill9().catch(() => undefined);
    await this.redis.stop().catch(() => undefined);
    const admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${this.dbName}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }

  /** Runs SQL on the cluster's database as the admin role. */
  async sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
    const c = new Client({ connectionString: this.dbUrl });
    await c.connect();
    try {
      return (await c.query(query, params)).rows as T[];
    } finally {
      await c.end();
    }
  }

  /** Runs SQL on the server's maintenance database (to take the cluster's database away and back). */
  async adminSql(query: string): Promise<void> {
    const c = new Client({ connectionString: ADMIN_URL });
    await c.connect();
    try {
      await c.query(query);
    } finally {
      await c.end();
    }
  }
}

export interface Api {
  base: string;
  headers: Record<string, string>;
}

export async function call(
  api: Api,
  method: string,
  path: string,
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${api.base}${path}`, {
    method,
    headers: { ...api.headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...extra },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export async function loginAdmin(base: string): Promise<Api> {
  const res = await call({ base, headers: {} }, 'POST', '/api/auth/login', ADMIN);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { base, headers: { authorization: `Bearer ${res.body.accessToken}` } };
}

export interface Followed {
  events: SseEvent[];
  /** Connections it took (1: never interrupted). */
  connections: number;
  /** Statuses of every (re)connection. */
  statuses: number[];
}

/**
 * Follows a message's stream as an EventSource does: on a connection that ends without a terminal event it
 * reconnects (through nginx) with the last id it got, until `done`/`error` or a 204, within bounds.
 */
export async function followToEnd(
  url: string,
  headers: Record<string, string>,
  o: { first?: Promise<SseRead>; maxConnections?: number; timeoutMs?: number } = {},
): Promise<Followed> {
  const out: Followed = { events: [], connections: 0, statuses: [] };
  const deadline = Date.now() + (o.timeoutMs ?? 60000);
  let first = o.first;
  while (out.connections < (o.maxConnections ?? 20) && Date.now() < deadline) {
    out.connections++;
    const lastId = [...out.events].reverse().find((e) => e.id)?.id;
    let read: SseRead | null;
    try {
      read = first
        ? await first
        : await readSse(url, {
            headers: { ...headers, ...(lastId ? { 'Last-Event-ID': lastId } : {}) },
            timeoutMs: Math.max(1000, deadline - Date.now()),
          });
    } catch {
      read = null; // a connection reset by a killed instance: reconnect
    }
    first = undefined;
    if (read) {
      out.statuses.push(read.status);
      out.events.push(...read.events);
      if (read.status === 204) return out;
      const last = out.events[out.events.length - 1];
      if (last && (last.event === 'done' || last.event === 'error')) return out;
      if (read.status >= 500 || read.status === 429) await sleep(300);
    }
    await sleep(100);
  }
  throw new Error(`stream did not end after ${out.connections} connections: ${JSON.stringify(out.events.slice(-2))}`);
}

/** Ids are `${offset}-${seq}`: each message event starts where the content before it ends; returns the content. */
export function contiguousContent(events: SseEvent[]): string {
  let delivered = 0;
  for (const e of events) {
    const offset = Number(String(e.id).split('-')[0]);
    if (e.event === 'message') {
      const content = String(e.data.data.content);
      if (offset - content.length !== delivered)
        throw new Error(`gap or overlap at ${e.id}: starts at ${offset - content.length}, had ${delivered}`);
      delivered = offset;
    } else if (e.id && offset !== delivered)
      throw new Error(`${e.event} ${e.id} at offset ${offset}, had ${delivered}`);
  }
  return contentOf(events);
}

export { contentOf, readSse };
export type { SseEvent, SseRead };
