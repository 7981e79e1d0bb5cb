#!/usr/bin/env node
// Issue 14, memory: the service's RSS across rounds of SSE connect/abort cycles, measured out of jest with
// the service in its own process (so the client's memory is not counted).
//   node_modules/.bin/node scripts/measure/measure-sse-churn-rss.js   (10 rounds × 1,000 cycles, 8 in parallel)
//   ROUNDS=… CYCLES=… PARALLEL=… WARMUP=1000 SETTLE_S=30 TARGET=bare MALLOC_ARENA_MAX=2 NODE_FLAGS='…' GLIBC_TUNABLES=… node …
// Needs a build (node scripts/build.js), PostgreSQL (ADMIN_DATABASE_URL, default the machine's) and Redis
// (REDIS_URL, default redis://127.0.0.1:6379; REDIS_URL= empty runs the in-process event bus).
// The service runs with the flags and malloc settings of production (--max-semi-space-size=4, NODE_FLAGS replaces
// them; GLIBC_TUNABLES with fixed 128 KB thresholds, GLIBC_TUNABLES= empty for glibc's dynamic defaults). TARGET=bare
// churns a bare node:http SSE server (bare-sse-server.js) instead, to tell Node/V8's own behaviour from ours.
// The baseline is taken after WARMUP cycles (default 1,000: the one-time step a bare server shows as well).
// Prints, after the warm-up and after each round (two full GCs first, see gc-on-signal.js): RSS, its anonymous
// part split into resident 256 KB mappings (V8's pages) and the rest (glibc), V8 heap used and committed per
// space, external and ArrayBuffer memory, V8's malloced memory; then the same after SETTLE_S seconds idle and
// after a memory-reducing GC (which releases V8's page pool: docs/reliability.md "Memory").
const { mkdtempSync, rmSync } = require('node:fs');
const http = require('node:http');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const {
  GLIBC_TUNABLES,
  MB,
  measuredContext,
  sample,
  sleep,
  startBare,
  startService,
  stopMeasured,
} = require('./measured-process');

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const CYCLES = Number(process.env.CYCLES ?? 1000);
const PARALLEL = Number(process.env.PARALLEL ?? 8);
const TARGET = process.env.TARGET ?? 'service';
const WARMUP = Number(process.env.WARMUP ?? 1000);
const SETTLE_S = Number(process.env.SETTLE_S ?? 30);

function openAndAbort(url, headers, agent) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers: { accept: 'text/event-stream', ...headers }, agent });
    const timer = setTimeout(() => (req.destroy(), reject(new Error('no first event within 10 s'))), 10000);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        clearTimeout(timer);
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => reject(new Error(`status ${res.statusCode}: ${body.slice(0, 300)}`)));
        return;
      }
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

function printRow(label, m) {
  const spaces = Object.entries(m.spaces ?? {})
    .filter(([, v]) => v.physical > 1048576)
    .map(([k, v]) => `${k.replace('_space', '')} ${MB(v.used)}/${MB(v.physical)}`)
    .join(' ');
  console.log(
    `${label.padEnd(12)} rss ${MB(m.rss)} (anon ${MB(m.anon)}: 256 KB mappings ${MB(m.smaps.v8Pages)}, brk heap ${MB(m.smaps.brk)}, other ${MB(m.smaps.otherAnon)}) heapUsed ${MB(m.heapUsed)} heapCommitted ${MB(m.heapCommitted)} external ${MB(m.external)} arrayBuffers ${MB(m.arrayBuffers)} malloced ${MB(m.malloced)} MB; spaces used/physical: ${spaces}`,
  );
}

/** CPU seconds the measured process used between two samples (the samples' own GCs included, the same in every run). */
const cpuS = (a, b) => (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1e6;
const pct = (a, b) => `${(((b - a) / a) * 100).toFixed(1)} %`;

async function churn(n, url, headers, agent) {
  for (let i = 0; i < n; i += PARALLEL)
    await Promise.all(Array.from({ length: Math.min(PARALLEL, n - i) }, () => openAndAbort(url, headers, agent)));
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'churn-'));
  // The flags the service runs with in production (npm start, Dockerfile).
  const ctx = measuredContext(
    dataDir,
    (process.env.NODE_FLAGS ?? '--max-semi-space-size=4').split(' ').filter(Boolean),
  );
  try {
    const { url, headers } =
      TARGET === 'bare' ? await startBare(ctx) : await startService(ctx, { mockDeltas: 100000, mockDelayMs: 50 });
    const { proc, out } = ctx;
    const keep = new http.Agent({ keepAlive: false });
    const rows = [['boot', await sample(proc, out)]];
    printRow('boot', rows[0][1]);
    // Warm-up cycles before the baseline: what the first cycles of any node:http SSE server commit once
    // (V8 grows its young generation to its maximum, JIT code, pools); see docs/reliability.md "Memory".
    await churn(WARMUP, url, headers, keep);
    await sleep(300);
    rows.push(['baseline', await sample(proc, out)]);
    printRow(`warm-up ${WARMUP}`, rows[1][1]);
    // The same baseline with V8's pooled pages released, to compare with the memory-reducing GC at the end.
    const baseReduced = await sample(proc, out, 'reduce');
    printRow('reducing GC', baseReduced);
    const started = Date.now();
    for (let round = 1; round <= ROUNDS; round++) {
      await churn(CYCLES, url, headers, keep);
      await sleep(300);
      rows.push([`round ${round}`, await sample(proc, out)]);
      printRow(`round ${round}`, rows[rows.length - 1][1]);
    }
    const base = rows[1][1];
    const first = rows[2][1];
    const last = rows[rows.length - 1][1];
    const maxRss = Math.max(...rows.slice(2).map(([, m]) => m.rss));
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    // Then idle: the service's IdleMemoryReducer (IDLE_GC_QUIET_MS, default 10 s) releases what V8 pooled; V8's own
    // memory reducer would only after ~100 s (docs/reliability.md "Memory"). IDLE_GC_ENABLED=false to see V8 alone.
    await sleep(SETTLE_S * 1000);
    const settled = await sample(proc, out);
    printRow(`idle ${SETTLE_S} s`, settled);
    const reduced = await sample(proc, out, 'reduce');
    printRow('reducing GC', reduced);
    console.log(
      `${TARGET}: boot rss ${MB(rows[0][1].rss)} MB; ${WARMUP} warm-up cycles, then ${ROUNDS} × ${CYCLES} cycles in ${secs} s; node flags: ${ctx.flags.join(' ') || 'none'}, MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? 'unset'}\n` +
        `rss baseline (after the warm-up) ${MB(base.rss)} MB; highest after a round ${MB(maxRss)} MB (${pct(base.rss, maxRss)}); after the last round ${MB(last.rss)} MB (${pct(base.rss, last.rss)}); first→last round ${MB(first.rss)}→${MB(last.rss)} MB (${pct(first.rss, last.rss)})\n` +
        `service CPU (user + system) from the baseline to the last round: ${cpuS(base, last).toFixed(2)} s, ${((cpuS(base, last) * 1000) / ROUNDS).toFixed(0)} ms per round of ${CYCLES} cycles; measured process's GLIBC_TUNABLES=${GLIBC_TUNABLES || 'unset'}\n` +
        `after ${SETTLE_S} s idle ${MB(settled.rss)} MB (${pct(base.rss, settled.rss)}); after a memory-reducing GC ${MB(reduced.rss)} MB (${pct(base.rss, reduced.rss)}; ${pct(baseReduced.rss, reduced.rss)} from the baseline's ${MB(baseReduced.rss)} MB after the same GC); heapUsed baseline→last ${MB(base.heapUsed)}→${MB(last.heapUsed)} MB`,
    );
  } finally {
    await stopMeasured(ctx);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
