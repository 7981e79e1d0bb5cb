#!/usr/bin/env node
// Issue 18, memory per idle open stream: what each idle SSE stream of the service holds, from heap snapshots.
//   node_modules/.bin/node scripts/measure/measure-idle-stream-heap.js        (N=2000: 0, N and 2N streams)
//   N=… TARGET=bare SNAPSHOTS=0 NODE_FLAGS=… node …
// Needs a build (node scripts/build.js), PostgreSQL and Redis like measure-sse-churn-rss.js. Opens N, then N
// more idle streams following one reply that holds before its first token; after each step (two full GCs)
// reads RSS, the JS heap and external memory, and (SNAPSHOTS=1, the default for the service) writes a heap
// snapshot; then prints, per stream, the difference between the N and 2N snapshots by constructor.
// Writing a snapshot grows the process's malloc heap by hundreds of MB: read RSS from a run with SNAPSHOTS=0.
// docs/performance.md "Idle memory per stream" groups the snapshot diff by owner.
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const http = require('node:http');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { MB, measuredContext, sample, sleep, startBare, startService, stopMeasured } = require('./measured-process');

const N = Number(process.env.N ?? 2000);
const TARGET = process.env.TARGET ?? 'service';
const SNAPSHOTS = (process.env.SNAPSHOTS ?? (TARGET === 'bare' ? '0' : '1')) === '1';
const TOP = Number(process.env.TOP ?? 40);
/** Keep the snapshots there (default: deleted with the run's temporary directory). */
const SNAPSHOT_DIR = process.env.SNAPSHOT_DIR;
const KB = (b) => (b / 1024).toFixed(2);

/** Opens n idle streams; resolves when each has its first bytes (headers and the retry hint). */
async function open(n, url, headers, agent, held) {
  for (let i = 0; i < n; i += 250) {
    await Promise.all(
      Array.from(
        { length: Math.min(250, n - i) },
        () =>
          new Promise((resolve, reject) => {
            const req = http.get(url, { agent, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
              if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
              res.once('data', () => resolve());
            });
            req.on('error', reject);
            held.push(req);
          }),
      ),
    );
  }
}

/** Count and self size per (type, constructor or closure name) in a V8 heap snapshot. */
function aggregate(path) {
  const snap = JSON.parse(readFileSync(path, 'utf8'));
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((k) => f.indexOf(k));
  const nodes = snap.nodes;
  const by = new Map();
  for (let i = 0; i < nodes.length; i += f.length) {
    const type = types[nodes[i + iType]];
    const name =
      type === 'string' || type === 'concatenated string' || type === 'sliced string'
        ? ''
        : snap.strings[nodes[i + iName]];
    const key = `${type}: ${name.slice(0, 80)}`;
    const e = by.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += nodes[i + iSize];
    by.set(key, e);
  }
  return by;
}

function diff(a, b, n) {
  const rows = [];
  for (const [key, e] of b) {
    const p = a.get(key) ?? { count: 0, size: 0 };
    if (e.size - p.size !== 0 || e.count - p.count !== 0)
      rows.push({ key, count: (e.count - p.count) / n, bytes: (e.size - p.size) / n });
  }
  rows.sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((s, r) => s + r.bytes, 0);
  console.log(`\nper stream, snapshot at ${2 * N} minus snapshot at ${N} streams: ${KB(total)} KB of self size`);
  console.log('   bytes  objects  type: constructor / closure name');
  for (const r of rows.slice(0, TOP))
    console.log(`${r.bytes.toFixed(0).padStart(8)} ${r.count.toFixed(2).padStart(8)}  ${r.key}`);
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'idle-'));
  const ctx = measuredContext(
    dataDir,
    (process.env.NODE_FLAGS ?? '--max-semi-space-size=4').split(' ').filter(Boolean),
  );
  ctx.bareArgs = ['idle'];
  const held = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  try {
    const { url, headers } =
      TARGET === 'bare'
        ? await startBare(ctx)
        : await startService(ctx, { mockDeltas: 1, mockFirstTokenDelayMs: 600_000 });
    const { proc, out } = ctx;
    const steps = [];
    for (const [label, add] of [
      ['0', 0],
      [String(N), N],
      [String(2 * N), N],
    ]) {
      await open(add, url, headers, agent, held);
      await sleep(2000);
      const snapshot = SNAPSHOTS && label !== '0' ? join(SNAPSHOT_DIR ?? dataDir, `${label}.heapsnapshot`) : null;
      const m = await sample(proc, out, snapshot ? `snapshot ${snapshot}` : 'regular');
      // The same after a memory-reducing GC: without the pages V8 pools after the garbage of opening them.
      const reduced = await sample(proc, out, 'reduce');
      m.reducedRss = reduced.rss;
      steps.push({ label, m, snapshot });
      console.log(
        `${label.padStart(6)} streams: rss ${MB(m.rss)} MB (256 KB mappings ${MB(m.smaps.v8Pages)}, heap committed ${MB(m.heapCommitted)}), after a memory-reducing GC ${MB(reduced.rss)} MB; heapUsed ${MB(m.heapUsed)} MB, external+arrayBuffers ${MB(m.external + m.arrayBuffers)} MB, malloced ${MB(m.malloced)} MB`,
      );
    }
    const per = (k, a, b) => KB((steps[b].m[k] - steps[a].m[k]) / N);
    for (const [a, b] of [
      [0, 1],
      [1, 2],
    ])
      console.log(
        `${TARGET}, streams ${steps[a].label}→${steps[b].label}, per stream: rss ${per('rss', a, b)} KB (after a memory-reducing GC ${per('reducedRss', a, b)} KB), JS heap ${per('heapUsed', a, b)} KB, external ${per('external', a, b)} KB`,
      );
    if (SNAPSHOTS) {
      for (const r of held) r.destroy();
      diff(aggregate(steps[1].snapshot), aggregate(steps[2].snapshot), N);
    }
  } finally {
    for (const r of held) r.destroy();
    agent.destroy();
    await stopMeasured(ctx);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
