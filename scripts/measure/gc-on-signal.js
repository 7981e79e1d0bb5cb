// Preloaded (node -r) into the service by measure-sse-churn-rss.js: on SIGUSR2, two full GCs, then the
// process's own view of its memory is written to $MEM_OUT (the driver reads RSS from /proc itself).
const { writeFileSync } = require('node:fs');
const v8 = require('node:v8');
process.on('SIGUSR2', () => {
  global.gc();
  global.gc();
  const heap = v8.getHeapStatistics();
  const spaces = Object.fromEntries(
    v8
      .getHeapSpaceStatistics()
      .map((s) => [s.space_name, { used: s.space_used_size, physical: s.physical_space_size }]),
  );
  writeFileSync(
    process.env.MEM_OUT,
    JSON.stringify({
      ...process.memoryUsage(),
      heapCommitted: heap.total_physical_size,
      malloced: heap.malloced_memory,
      peakMalloced: heap.peak_malloced_memory,
      spaces,
    }),
  );
});
