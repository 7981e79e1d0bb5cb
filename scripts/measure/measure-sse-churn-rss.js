#!/usr/bin/env node
// Issue 14, memory: the service's RSS across rounds of SSE connect/abort cycles, measured out of jest with
// the service in its own process (so the client's memory is not counted).
//   node_modules/.bin/node scripts/measure/measure-sse-churn-rss.js   (10 rounds × 1,000 cycles, 8 in parallel)
//   ROUNDS=… CYCLES=… PARALLEL=… MALLOC_ARENA_MAX=2 NODE_FLAGS='--max-semi-space-size=…' node …
// Needs a build (node scripts/build.js), PostgreSQL (ADMIN_DATABASE_URL, default the machine's) and Redis
// (REDIS_URL, default redis://127.0.0.1:6379; REDIS_URL= empty runs the in-process event bus).
// Prints, after setup and after each round (two full GCs first): RSS, its anonymous part, V8 heap used and
// committed, external and ArrayBuffer memory, V8's malloced memory.
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const http = require('node:http');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { Client } = require('pg');

const ROOT = resolve(__dirname, '../..');
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const CYCLES = Number(process.env.CYCLES ?? 1000);
const PARALLEL = Number(process.env.PARALLEL ?? 8);
const ADMIN_URL = process.env.ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN = { email: 'churn@example.com', password: 'Measure-Rss-Pass-7' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MB = (b) => (b / 1048576).toFixed(1);

function procStatus(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

async function sample(proc, out) {
  rmSync(out, { force: true });
  proc.kill('SIGUSR2');
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    try {
      const m = JSON.parse(readFileSync(out, 'utf8'));
      await sleep(200);
      return { ...m, ...procStatus(proc.pid) };
    } catch {
      /* not written yet */
    }
  }
  throw new Error('no memory sample');
}

function openAndAbort(url, headers, agent) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers: { accept: 'text/event-stream', ...headers }, agent });
    const timer = setTimeout(() => (req.destroy(), reject(new Error('no first event within 10 s'))), 10000);
    req.on('response', (res) => {
      if (res.statusCode !== 200)
        return (clearTimeout(timer), req.destroy(), reject(new Error(`status ${res.statusCode}`)));
      res.on('data', (chunk) => {
        if (!chunk.toString().includes('\nevent: ')) return;
        clearTimeout(timer);
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => undefined);
    req.end();
  });
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

async function main() {
  const dbName = `cb_churn_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'churn-'));
  const out = join(dataDir, 'mem.json');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const env = {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: u.toString(),
    REDIS_URL,
    REDIS_KEY_PREFIX: `churn-${randomBytes(3).toString('hex')}:`,
    JWT_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    THROTTLE_LIMIT: '10000000',
    BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    MEM_OUT: out,
  };
  if (!REDIS_URL) delete env.REDIS_URL;
  const flags = (process.env.NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(
    process.execPath,
    [...flags, '--expose-gc', '-r', join(__dirname, 'gc-on-signal.js'), join(ROOT, 'dist/src/main.js')],
    { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const base = `http://127.0.0.1:${port}`;
  try {
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
      config: { mockDeltas: 100000, mockDelayMs: 50 },
    });
    const chat = await api(base, 'POST', '/api/chats', accessToken, { agentId: agent.id });
    const sent = await api(base, 'POST', `/api/chats/${chat.id}/messages`, accessToken, { content: 'keep going' });
    const url = `${base}${sent.streamUrl}`;
    const headers = { authorization: `Bearer ${accessToken}` };
    const keep = new http.Agent({ keepAlive: false });
    // Warm-up round (JIT, pools), not counted.
    for (let i = 0; i < 200; i += PARALLEL)
      await Promise.all(Array.from({ length: PARALLEL }, () => openAndAbort(url, headers, keep)));
    const rows = [['setup', await sample(proc, out)]];
    const started = Date.now();
    for (let round = 1; round <= ROUNDS; round++) {
      for (let i = 0; i < CYCLES; i += PARALLEL)
        await Promise.all(
          Array.from({ length: Math.min(PARALLEL, CYCLES - i) }, () => openAndAbort(url, headers, keep)),
        );
      await sleep(300);
      rows.push([`round ${round}`, await sample(proc, out)]);
      const [, m] = rows[rows.length - 1];
      const spaces = Object.entries(m.spaces ?? {})
        .filter(([, v]) => v.physical > 1048576)
        .map(([k, v]) => `${k.replace('_space', '')} ${MB(v.used)}/${MB(v.physical)}`)
        .join(' ');
      console.log(
        `${rows[rows.length - 1][0].padEnd(9)} rss ${MB(m.rss)} (anon ${MB(m.anon)}) heapUsed ${MB(m.heapUsed)} heapCommitted ${MB(m.heapCommitted)} external ${MB(m.external)} arrayBuffers ${MB(m.arrayBuffers)} malloced ${MB(m.malloced)} MB; spaces used/physical: ${spaces}`,
      );
    }
    const first = rows[1][1];
    const last = rows[rows.length - 1][1];
    console.log(
      `setup rss ${MB(rows[0][1].rss)} MB; ${ROUNDS} × ${CYCLES} cycles in ${((Date.now() - started) / 1000).toFixed(0)} s; rss first→last round ${MB(first.rss)}→${MB(last.rss)} MB (${(((last.rss - first.rss) / first.rss) * 100).toFixed(1)} %), heapUsed ${MB(first.heapUsed)}→${MB(last.heapUsed)} MB; MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? 'unset'}, node flags: ${flags.join(' ') || 'none'}`,
    );
    await api(base, 'POST', `/api/chats/${chat.id}/messages/${sent.assistantMessage.id}/cancel`, accessToken).catch(
      () => undefined,
    );
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(20000)]);
    }
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
