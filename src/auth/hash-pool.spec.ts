import { BoundedPool, PoolSaturatedError } from 'src/auth/hash-pool';

describe('BoundedPool', () => {
  it('runs at most `concurrency` tasks at once and refuses callers beyond the queue bound', async () => {
    const pool = new BoundedPool(2, 1);
    let active = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const task = () =>
      pool.run(async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise<void>((r) => gates.push(r));
        active--;
      });
    const a = task();
    const b = task();
    const c = task(); // queued
    await expect(task()).rejects.toBeInstanceOf(PoolSaturatedError);
    expect(pool.stats).toEqual(expect.objectContaining({ running: 2, waiting: 1 }));
    while (gates.length || active) {
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([a, b, c]);
    expect(peak).toBe(2);
    expect(pool.stats).toEqual(expect.objectContaining({ running: 0, waiting: 0 }));
  });

  it('frees the slot when a task fails', async () => {
    const pool = new BoundedPool(1, 0);
    await expect(pool.run(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(pool.run(async () => 42)).resolves.toBe(42);
  });
});
