import { MemoryCounters } from 'src/common/redis/memory-counters';

describe('MemoryCounters (the per-instance fallback while Redis is unreachable)', () => {
  afterEach(() => jest.useRealTimers());

  it('counts a fixed window and restarts it after it expires', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const c = new MemoryCounters();
    expect(c.hitFixed('k', 60).count).toBe(1);
    expect(c.hitFixed('k', 60)).toEqual({ count: 2, ttlSec: 60 });
    jest.setSystemTime(1_000_000 + 61_000);
    expect(c.hitFixed('k', 60).count).toBe(1);
  });

  it('keeps a sliding window open while hits keep coming, and holds locks until they end', () => {
    jest.useFakeTimers({ now: 0 });
    const c = new MemoryCounters();
    for (let i = 0; i < 5; i++) {
      c.hitSliding('f', 10);
      jest.setSystemTime(Date.now() + 5000);
    }
    expect(c.hitSliding('f', 10)).toBe(6);
    c.lock('l', 30);
    expect(c.lockedFor('l')).toBe(30);
    jest.setSystemTime(Date.now() + 31_000);
    expect(c.lockedFor('l')).toBe(0);
  });

  it('stays bounded under a flood of keys', () => {
    const c = new MemoryCounters(100);
    for (let i = 0; i < 1000; i++) c.hitFixed(`k${i}`, 60);
    expect(c.size).toBe(100);
  });
});
