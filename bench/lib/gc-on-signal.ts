/**
 * Preloaded into the benchmarked processes (`node --expose-gc --require …/gc-on-signal.js`): a full garbage
 * collection on SIGUSR2, so the idle-memory figure can be read after the garbage of opening 10,000 streams
 * is gone. Bench only; the service itself has no such hook.
 */
const collect = (globalThis as { gc?: () => void }).gc;
if (collect) process.on('SIGUSR2', () => collect());
