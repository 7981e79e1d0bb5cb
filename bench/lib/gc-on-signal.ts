import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Preloaded into the benchmarked processes (`node --expose-gc --require …/gc-on-signal.js`): a full garbage
 * collection on SIGUSR2, so the idle-memory figure can be read after the garbage of opening 10,000 streams
 * is gone. With `BENCH_MEM_OUT` set, the process then writes its own figures there, taken right after the
 * collection (the JS heap in use, external memory, RSS). When `$BENCH_MEM_OUT.mode` says `reduce`, the
 * collection is a memory-reducing one (V8 also gives back the pages it pools for reuse: docs/performance.md
 * "Idle memory"). Bench only; the service itself has no such hook.
 */
type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
const collect = (globalThis as { gc?: Gc }).gc;
const out = process.env.BENCH_MEM_OUT;

function mode(): string {
  try {
    return readFileSync(`${out}.mode`, 'utf8').trim();
  } catch {
    return 'regular';
  }
}

if (collect)
  process.on('SIGUSR2', () => {
    if (out && mode() === 'reduce') collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    else collect();
    if (!out) return;
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
    const m = process.memoryUsage();
    writeFileSync(
      out,
      JSON.stringify({ heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rssKb }),
    );
  });
