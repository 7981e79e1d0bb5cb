// Preloaded (node -r) into the measured process by measure-sse-churn-rss.js (the service, or the bare node:http
// SSE server): on SIGUSR2, two full GCs, then the process's own view of its memory is written to $MEM_OUT.
// On request (`$MEM_OUT.mode`), a memory-reducing GC instead (V8's "last resort" flavour: shrinks the new
// space and releases the pages V8 pools for reuse, what it does by itself under memory pressure), or a heap
// snapshot after the GCs. RSS comes from /proc/self, with a summary of /proc/self/smaps (anonymous
// mappings of 256 KB, V8's page size, and the rest; LazyFree).
const { readFileSync, writeFileSync } = require('node:fs');
const v8 = require('node:v8');

function procStatus() {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/**
 * Resident anonymous memory by mapping: 256 KB mappings (V8's pages), other anonymous mappings (glibc's thread
 * arenas, V8's code range…), the brk heap (glibc's main arena), and pages freed lazily.
 */
function smaps() {
  const out = { v8Pages: 0, v8PageMappings: 0, otherAnon: 0, brk: 0, lazyFree: 0 };
  let size = 0;
  let anonMapping = false;
  let brkMapping = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      size = parseInt(head[2], 16) - parseInt(head[1], 16);
      anonMapping = head[3] === '0' && head[4] === '';
      brkMapping = head[4] === '[heap]';
      continue;
    }
    const field = /^(Rss|LazyFree):\s+(\d+) kB/.exec(line);
    if (!field) continue;
    const bytes = Number(field[2]) * 1024;
    if (field[1] === 'LazyFree') out.lazyFree += bytes;
    else if (brkMapping) out.brk += bytes;
    else if (anonMapping && size === 262144) {
      out.v8Pages += bytes;
      if (bytes > 0) out.v8PageMappings++;
    } else if (anonMapping) out.otherAnon += bytes;
  }
  return out;
}

function figures() {
  const heap = v8.getHeapStatistics();
  const spaces = Object.fromEntries(
    v8
      .getHeapSpaceStatistics()
      .map((s) => [s.space_name, { used: s.space_used_size, physical: s.physical_space_size }]),
  );
  return {
    ...process.memoryUsage(),
    ...procStatus(),
    cpu: process.cpuUsage(),
    smaps: smaps(),
    heapCommitted: heap.total_physical_size,
    malloced: heap.malloced_memory,
    peakMalloced: heap.peak_malloced_memory,
    spaces,
  };
}

/** What the driver asks for, in `$MEM_OUT.mode`: 'regular' (default), 'reduce', or 'snapshot <path>'. */
function mode() {
  try {
    return readFileSync(`${process.env.MEM_OUT}.mode`, 'utf8').trim();
  } catch {
    return 'regular';
  }
}

process.on('SIGUSR2', () => {
  const asked = mode();
  if (asked === 'reduce') global.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  else {
    global.gc();
    global.gc();
  }
  if (asked.startsWith('snapshot ')) v8.writeHeapSnapshot(asked.slice('snapshot '.length));
  writeFileSync(process.env.MEM_OUT, JSON.stringify(figures()));
});
