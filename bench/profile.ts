import { readFileSync } from 'node:fs';

/**
 * Summarises a V8 CPU profile (`--cpu-prof`, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"):
 * self time by function and by package (node_modules/<pkg>, node: internals, the service's own src/),
 * as shares of the non-idle samples.   node dist/bench/profile.js <file.cpuprofile> [top] [skip-ms]
 * skip-ms leaves out the first milliseconds of the profile (the boot: module loading, migrations).
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
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
