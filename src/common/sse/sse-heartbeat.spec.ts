import { addHeartbeat } from 'src/common/sse/sse-heartbeat';

describe('addHeartbeat (one timer for all streams)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const counter = () => {
    const t = { pings: 0, ping: () => void t.pings++ };
    return t;
  };

  it('pings every target once per period, the first ping within one period', () => {
    const targets = Array.from({ length: 20 }, counter);
    const offs = targets.map((t) => addHeartbeat(1000, t));
    jest.advanceTimersByTime(1000);
    expect(targets.map((t) => t.pings)).toEqual(targets.map(() => 1));
    jest.advanceTimersByTime(3000);
    expect(targets.map((t) => t.pings)).toEqual(targets.map(() => 4));
    offs.forEach((off) => off());
  });

  it('spreads targets added together over the period instead of pinging them in one tick', () => {
    const targets = Array.from({ length: 16 }, counter);
    const offs = targets.map((t) => addHeartbeat(800, t));
    jest.advanceTimersByTime(100);
    expect(targets.filter((t) => t.pings === 1)).toHaveLength(2);
    offs.forEach((off) => off());
  });

  it('stops pinging a removed target and uses one timer per period, cleared when the last target leaves', () => {
    const [a, b] = [counter(), counter()];
    const offA = addHeartbeat(500, a);
    const offB = addHeartbeat(500, b);
    expect(jest.getTimerCount()).toBe(1);
    offA();
    offA();
    jest.advanceTimersByTime(1000);
    expect(a.pings).toBe(0);
    expect(b.pings).toBe(2);
    offB();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('keeps separate periods apart', () => {
    const [fast, slow] = [counter(), counter()];
    const offs = [addHeartbeat(100, fast), addHeartbeat(1000, slow)];
    jest.advanceTimersByTime(1000);
    // At least once per period (a tick of 100 / 8 rounded down to 12 ms: a cycle of 96 ms).
    expect(fast.pings).toBeGreaterThanOrEqual(10);
    expect(fast.pings).toBeLessThanOrEqual(11);
    expect(slow.pings).toBe(1);
    offs.forEach((off) => off());
  });
});
