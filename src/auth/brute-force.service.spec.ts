import { lockSecondsFor } from 'src/auth/brute-force.service';

describe('lock-out steps', () => {
  const steps = [
    { failures: 5, seconds: 60 },
    { failures: 10, seconds: 900 },
    { failures: 20, seconds: 86400 },
  ];
  it('locks exactly at each step and escalates', () => {
    expect([4, 5, 6, 9, 10, 11, 19, 20].map((n) => lockSecondsFor(n, steps))).toEqual([0, 60, 0, 0, 900, 0, 0, 86400]);
  });
  it('keeps the long-term lock for every failure past the last step', () => {
    expect(lockSecondsFor(21, steps)).toBe(86400);
  });
});
