import { DrainService } from 'src/common/drain/drain.service';
import type { AppConfig } from 'src/config/env';

const make = (shutdownTimeoutMs = 400) => new DrainService({ shutdownTimeoutMs } as AppConfig);

describe('DrainService', () => {
  it('is not draining until begin() and begins once', async () => {
    const d = make();
    const cb = jest.fn();
    d.onDrain(cb);
    expect(d.isDraining()).toBe(false);
    const p = d.begin();
    expect(d.isDraining()).toBe(true);
    expect(d.begin()).toBe(p);
    await p;
    expect(cb).toHaveBeenCalledTimes(1);
  });

  it('does not call an unsubscribed callback and survives a throwing one', async () => {
    const d = make();
    const off = d.onDrain(() => {
      throw new Error('unsubscribed');
    });
    off();
    const bad = d.onDrain(() => {
      throw new Error('broken writer');
    });
    const good = jest.fn();
    d.onDrain(good);
    await d.begin();
    expect(good).toHaveBeenCalled();
    bad();
  });

  it('waits for work tracked before and during the drain', async () => {
    const d = make(2000);
    const order: string[] = [];
    void d.track(new Promise<void>((r) => setTimeout(() => (order.push('first'), r()), 30)));
    d.onDrain(() => {
      void d.track(new Promise<void>((r) => setTimeout(() => (order.push('during'), r()), 60)));
    });
    await d.begin();
    order.push('drained');
    expect(order).toEqual(['first', 'during', 'drained']);
  });

  it('returns the tracked promise unchanged, rejections included', async () => {
    const d = make();
    await expect(d.track(Promise.resolve(7))).resolves.toBe(7);
    await expect(d.track(Promise.reject(new Error('x')))).rejects.toThrow('x');
    await d.begin();
  });
});
