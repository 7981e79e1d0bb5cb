import { DataSource } from 'typeorm';
import { StampedCache, VersionStamps } from 'src/common/cache/version-stamps';
import { BreakerRegistry } from 'src/common/circuit/breaker-registry.service';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { AppConfig } from 'src/config/env';

const config = (url?: string) => ({ redisKeyPrefix: 't:', db: { url, embedded: !url } }) as unknown as AppConfig;

describe('VersionStamps without Redis', () => {
  // Never connected: without Redis no stamp read or bump can fail, so the metrics stay untouched.
  const metrics = new MetricsService(new BreakerRegistry(), new DataSource({ type: 'postgres' }));
  it('keeps stamps in memory with the embedded database, and a bump changes the stamp', async () => {
    const s = new VersionStamps(null, config(), metrics);
    expect(s.mode).toBe('local');
    const a = await s.current('x');
    expect(await s.current('x')).toBe(a);
    await s.bump('x');
    expect(await s.current('x')).not.toBe(a);
    expect(await s.current('y')).not.toBe(a);
  });

  it('turns caching off on a shared PostgreSQL without Redis (other instances could not tell it about writes)', async () => {
    const s = new VersionStamps(null, config('postgres://db/x'), metrics);
    expect(s.mode).toBe('off');
    expect(await s.current('x')).toBeNull();
  });
});

describe('VersionStamps.peek (scopes named by input not verified yet: AuthPrefetch)', () => {
  const metrics = new MetricsService(new BreakerRegistry(), new DataSource({ type: 'postgres' }));
  it('reads a stamp but never creates one, on Redis or in memory', async () => {
    const stored = new Map<string, string>();
    const redis = {
      get: jest.fn((k: string) => Promise.resolve(stored.get(k) ?? null)),
      set: jest.fn((k: string, v: string) => {
        if (!stored.has(k)) stored.set(k, v);
        return Promise.resolve('OK');
      }),
    };
    const s = new VersionStamps(redis as never, config('postgres://db/x'), metrics);
    expect(await s.peek('member:t:u')).toBeNull();
    expect(redis.set).not.toHaveBeenCalled();
    const created = await s.current('member:t:u');
    expect(redis.set).toHaveBeenCalledTimes(1);
    expect(await s.peek('member:t:u')).toBe(created);

    const local = new VersionStamps(null, config(), metrics);
    expect(await local.peek('x')).toBeNull();
    const a = await local.current('x');
    expect(await local.peek('x')).toBe(a);
    expect(await new VersionStamps(null, config('postgres://db/x'), metrics).peek('x')).toBeNull();
  });

  it('answers null when Redis cannot be read (the caller then reads with `current`)', async () => {
    const redis = { get: () => Promise.reject(new Error('Connection is closed.')) };
    expect(await new VersionStamps(redis as never, config('postgres://db/x'), metrics).peek('x')).toBeNull();
  });
});

describe('StampedCache', () => {
  it('loads once per stamp, reloads after the stamp changed, and never caches without a stamp', async () => {
    const cache = new StampedCache<number>({ ttlMs: 60_000 });
    let loads = 0;
    const load = () => Promise.resolve(++loads);
    expect(await cache.get('k', 's1', load)).toBe(1);
    expect(await cache.get('k', 's1', load)).toBe(1);
    expect(await cache.get('k', 's2', load)).toBe(2);
    expect(await cache.get('k', null, load)).toBe(3);
    expect(await cache.get('k', 's2', load)).toBe(2);
  });

  it('shares one load between concurrent misses and forgets failed loads', async () => {
    const cache = new StampedCache<number>({ ttlMs: 60_000 });
    let loads = 0;
    const slow = () => new Promise<number>((r) => setTimeout(() => r(++loads), 5));
    const [a, b] = await Promise.all([cache.get('k', 's', slow), cache.get('k', 's', slow)]);
    expect([a, b, loads]).toEqual([1, 1, 1]);
    await expect(cache.get('f', 's', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    await new Promise((r) => setImmediate(r));
    expect(await cache.get('f', 's', () => Promise.resolve(7))).toBe(7);
  });

  it('reloads a value older than its TTL even under the same stamp (bounds staleness after a lost bump)', async () => {
    const cache = new StampedCache<number>({ ttlMs: 20 });
    let loads = 0;
    const load = () => Promise.resolve(++loads);
    const start = Date.now();
    expect(await cache.get('k', 's', load)).toBe(1);
    const second = await cache.get('k', 's', load);
    if (Date.now() < start + 20) expect(second).toBe(1); // judged only when certainly within the TTL
    await new Promise((r) => setTimeout(r, 25));
    expect(await cache.get('k', 's', load)).toBe(loads);
    expect(loads).toBeGreaterThanOrEqual(2);
  });

  it('is bounded: the oldest key goes first', async () => {
    const cache = new StampedCache<string>({ ttlMs: 60_000, maxEntries: 2 });
    let loads = 0;
    const load = (v: string) => () => Promise.resolve(`${v}${++loads}`);
    await cache.get('a', 's', load('a'));
    await cache.get('b', 's', load('b'));
    await cache.get('c', 's', load('c'));
    expect(await cache.get('a', 's', load('a'))).toBe('a4');
    expect(await cache.get('c', 's', load('c'))).toBe('c3');
  });
});
