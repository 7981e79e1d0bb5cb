import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Summarises a V8 CPU profile (`--cpu-prof`, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"):
 * self time by function and by package (node_modules/<pkg>, node: internals, the service's own src/),
 * as shares of the non-idle samples.   node dist/bench/profile.js <file.cpuprofile> [top] [skip-ms] [--callers fn]
 * skip-ms leaves out the first milliseconds of the profile (the boot: module loading, migrations).
 * Frames of a bundled file (dist/src/main.js) are mapped through its source map (main.js.map) to the file
 * they came from, so packages and the service's own files are told apart as without the bundle.
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
const top = Number(process.argv[3] ?? 25);
const skipMs = Number(process.argv[4] ?? 0);
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const maps = new Map<string, SourceMap | null>();
const mapOf = (url: string): SourceMap | null => {
  if (!maps.has(url)) {
    const path = url.startsWith('file:') ? fileURLToPath(url) : url;
    const mapFile = `${path}.map`;
    maps.set(
      url,
      url && existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')) as never) : null,
    );
  }
  return maps.get(url)!;
};
/** The original file and line of a bundled frame (unchanged when its file has no source map). */
for (const n of p.nodes) {
  const map = n.callFrame.url ? mapOf(n.callFrame.url) : null;
  if (!map) continue;
  const e = map.findEntry(n.callFrame.lineNumber, n.callFrame.columnNumber) as {
    originalSource?: string;
    originalLine?: number;
  };
  if (!e?.originalSource) continue;
  n.callFrame = {
    ...n.callFrame,
    url: e.originalSource.replace(/^(\.\.\/)+(dist\/)?/, '/dist/'),
    lineNumber: e.originalLine ?? 0,
  };
}
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
let clock = 0;
p.samples.forEach((id, i) => {
  clock += p.timeDeltas[i] ?? 0;
  if (clock >= skipMs * 1000) self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
});
const pkgOf = (url: string): string => {
  if (!url) return '(native/vm)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return 'node:internals';
  const src = /\/dist\/(src\/[^/]+)/.exec(url);
  return src ? src[1] : url;
};
const fn = new Map<string, number>();
const pkg = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const name = n.callFrame.functionName || '(anonymous)';
  if (name === '(idle)' || name === '(program)') {
    if (name === '(idle)') idle += us;
    else total += us;
    if (name === '(idle)') continue;
  } else total += us;
  const key = `${name} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, '')}:${n.callFrame.lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const k = name === '(garbage collector)' ? '(gc)' : name === '(program)' ? '(program)' : pkgOf(n.callFrame.url);
  pkg.set(k, (pkg.get(k) ?? 0) + us);
}
const pct = (v: number) => `${((100 * v) / total).toFixed(1)} %`;
process.stdout.write(
  `busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms\n\nby package (self time):\n`,
);
for (const [k, v] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`  ${pct(v).padStart(7)}  ${k}\n`);
process.stdout.write('\nby function (self time):\n');
for (const [k, v] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`  ${pct(v).padStart(7)}  ${k}\n`);

/**
 * `--callers <function>` (e.g. `writev`: a system call's time is charged to whichever write made it): the share of
 * that function's self time by the chain of frames above it, to tell PostgreSQL's writes from the SSE responses'.
 */
const callersOf = process.argv.indexOf('--callers');
if (callersOf > 0 && process.argv[callersOf + 1]) {
  const target = process.argv[callersOf + 1];
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const chains = new Map<string, number>();
  let sum = 0;
  for (const [id, us] of self) {
    if (byId.get(id)!.callFrame.functionName !== target) continue;
    sum += us;
    const chain: string[] = [];
    for (let up = parent.get(id); up !== undefined && chain.length < 12; up = parent.get(up)) {
      const f = byId.get(up)!.callFrame;
      // Node's stream plumbing says nothing about who wrote: skip it.
      if (f.url.startsWith('node:')) continue;
      chain.push(`${f.functionName || '(anonymous)'} ${pkgOf(f.url)}`);
    }
    const key = chain.slice(0, 4).join(' < ') || '(no frame of ours)';
    chains.set(key, (chains.get(key) ?? 0) + us);
  }
  process.stdout.write(`\n${target}: ${pct(sum)} of busy time, by caller:\n`);
  for (const [k, v] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, top))
    process.stdout.write(`  ${((100 * v) / Math.max(1, sum)).toFixed(1).padStart(5)} %  ${k}\n`);
}
