// Shared by the measurement scripts: the measured process (the built service on a database of its own, or the
// bare node:http SSE server), started with gc-on-signal.js preloaded, and its memory figures on request.
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { readFileSync, rmSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { Client } = require('pg');

const ROOT = resolve(__dirname, '../..');
const ADMIN_URL = process.env.ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The malloc settings of production (Dockerfile, npm start); GLIBC_TUNABLES= (empty) runs glibc's dynamic defaults. */
const PRODUCTION_GLIBC_TUNABLES = 'glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072';
const GLIBC_TUNABLES = process.env.GLIBC_TUNABLES ?? PRODUCTION_GLIBC_TUNABLES;
const ADMIN = { email: 'churn@example.com', password: 'Measure-Rss-Pass-7' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MB = (b) => (b / 1048576).toFixed(1);

/** Asks the measured process for its figures (see gc-on-signal.js): after two full GCs, or a memory-reducing one. */
async function sample(proc, out, mode = 'regular') {
  rmSync(out, { force: true });
  writeFileSync(`${out}.mode`, mode);
  proc.kill('SIGUSR2');
  for (let i = 0; i < 1200; i++) {
    await sleep(50);
    try {
      return JSON.parse(readFileSync(out, 'utf8'));
    } catch {
      /* not written yet */
    }
  }
  throw new Error('no memory sample');
}

async function api(base, method, path, token, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body && JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The measured process runs with production's GLIBC_TUNABLES unless the environment says otherwise. */
function withTunables(env) {
  if (GLIBC_TUNABLES) env.GLIBC_TUNABLES = GLIBC_TUNABLES;
  else delete env.GLIBC_TUNABLES;
  return env;
}

/** The service on its own database, with an endless reply to follow: the stream URL and its headers. */
async function startService(ctx, agentConfig) {
  const dbName = `cb_churn_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  ctx.afterStop.push(async () => {
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  });
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  const env = {
    ...process.env,
    NODE_ENV: process.env.MEASURE_NODE_ENV ?? 'test', // npm run bench runs the service with 'development'
    LOG_LEVEL: 'warn',
    PORT: String(ctx.port),
    HOST: '127.0.0.1',
    DATA_DIR: ctx.dataDir,
    DATABASE_URL: u.toString(),
    REDIS_URL,
    REDIS_KEY_PREFIX: `churn-${randomBytes(3).toString('hex')}:`,
    JWT_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    THROTTLE_LIMIT: '10000000',
    BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    MEM_OUT: ctx.out,
  };
  if (!REDIS_URL) delete env.REDIS_URL;
  withTunables(env);
  ctx.proc = spawn(
    process.execPath,
    [...ctx.flags, '--expose-gc', '-r', join(__dirname, 'gc-on-signal.js'), join(ROOT, 'dist/src/main.js')],
    { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const base = `http://127.0.0.1:${ctx.port}`;
  for (let i = 0; ; i++) {
    if (i > 600) throw new Error('service did not start');
    if (
      await fetch(`${base}/health/ready`).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      break;
    await sleep(200);
  }
  const { accessToken } = await api(base, 'POST', '/api/auth/login', null, ADMIN);
  const agent = await api(base, 'POST', '/api/agents', accessToken, {
    name: 'Endless',
    provider: 'mock',
    model: 'mock-1',
    config: agentConfig,
  });
  const chat = await api(base, 'POST', '/api/chats', accessToken, { agentId: agent.id });
  const sent = await api(base, 'POST', `/api/chats/${chat.id}/messages`, accessToken, { content: 'keep going' });
  ctx.beforeStop.push(() =>
    api(base, 'POST', `/api/chats/${chat.id}/messages/${sent.assistantMessage.id}/cancel`, accessToken).catch(
      () => undefined,
    ),
  );
  return { url: `${base}${sent.streamUrl}`, headers: { authorization: `Bearer ${accessToken}` } };
}

/** TARGET=bare: a node:http SSE server doing the same per stream, to tell Node/V8's own behaviour from ours. */
async function startBare(ctx) {
  const env = withTunables({ ...process.env, PORT: String(ctx.port), HOST: '127.0.0.1', MEM_OUT: ctx.out });
  ctx.proc = spawn(
    process.execPath,
    [
      ...ctx.flags,
      '--expose-gc',
      '-r',
      join(__dirname, 'gc-on-signal.js'),
      join(__dirname, 'bare-sse-server.js'),
      ...(ctx.bareArgs ?? []),
    ],
    { env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const url = `http://127.0.0.1:${ctx.port}/`;
  for (let i = 0; ; i++) {
    if (i > 100) throw new Error('bare server did not start');
    if (
      await fetch(url, { method: 'HEAD' }).then(
        () => true,
        () => false,
      )
    )
      break;
    await sleep(100);
  }
  return { url, headers: {} };
}

/** Ends the measured process (SIGTERM, then its drain) and drops what it used. */
async function stopMeasured(ctx) {
  for (const f of ctx.beforeStop) await f();
  const { proc } = ctx;
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([exited, sleep(20000)]);
  }
  for (const f of ctx.afterStop) await f();
}

/** The context the start functions fill: where the process writes its figures, its port and flags. */
function measuredContext(dataDir, flags) {
  return {
    dataDir,
    out: join(dataDir, 'mem.json'),
    port: 20000 + Math.floor(Math.random() * 20000),
    flags,
    beforeStop: [],
    afterStop: [],
    proc: null,
  };
}

module.exports = { GLIBC_TUNABLES, MB, measuredContext, sample, sleep, startBare, startService, stopMeasured };
