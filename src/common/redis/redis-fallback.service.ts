import { Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { dependencyFailure } from 'src/common/errors/dependency-failure';
import { METRIC_PREFIX, MetricsService } from 'src/common/metrics/metrics.service';

/** Stores that keep working on per-instance memory while Redis is unreachable. */
export type FallbackStore = 'throttle' | 'auth';

/**
 * Degradation without Redis for the stores that must not fail a request: the global rate limit and the
 * login rate limits and lock-outs. While Redis is not connected (or a command fails because it is
 * unreachable), they count in this instance's memory instead; when Redis is back they use it again, with no
 * restart. Each switch is logged once, and `redis_fallback_active{store}` (1 while on memory) and
 * `redis_fallback_operations_total{store}` say so on /metrics.
 */
@Injectable()
export class RedisFallback {
  private readonly logger = new Logger(RedisFallback.name);
  private readonly active = new Set<FallbackStore>();
  private readonly activeGauge: Gauge<'store'>;
  private readonly operations: Counter<'store'>;

  constructor(metrics: MetricsService) {
    this.activeGauge = new Gauge({
      name: `${METRIC_PREFIX}redis_fallback_active`,
      help: 'Stores running on per-instance memory because Redis is unreachable (1) or on Redis (0)',
      labelNames: ['store'] as const,
      registers: [metrics.registry],
    });
    this.operations = new Counter({
      name: `${METRIC_PREFIX}redis_fallback_operations_total`,
      help: 'Operations served from per-instance memory because Redis was unreachable',
      labelNames: ['store'] as const,
      registers: [metrics.registry],
    });
    for (const store of ['throttle', 'auth'] as const) this.activeGauge.set({ store }, 0);
  }

  isActive(store: FallbackStore): boolean {
    return this.active.has(store);
  }

  /**
   * `remote` on Redis when it is connected; `local` (memory) when it is not, or when `remote` failed because
   * Redis is unreachable. Any other error (a bug, a wrong command) propagates.
   */
  async run<T>(store: FallbackStore, redis: Redis, remote: () => Promise<T>, local: () => T | Promise<T>): Promise<T> {
    if (redis.status !== 'ready') return this.useLocal(store, local, `redis ${redis.status}`);
    try {
      const value = await remote();
      this.recovered(store);
      return value;
    } catch (err) {
      if (dependencyFailure(err) !== 'redis') throw err;
      return this.useLocal(store, local, (err as Error).message);
    }
  }

  private async useLocal<T>(store: FallbackStore, local: () => T | Promise<T>, reason: string): Promise<T> {
    if (!this.active.has(store)) {
      this.active.add(store);
      this.activeGauge.set({ store }, 1);
      this.logger.warn({ store, reason }, `redis unreachable: ${store} counters fall back to this instance's memory`);
    }
    this.operations.inc({ store });
    return local();
  }

  private recovered(store: FallbackStore): void {
    if (!this.active.delete(store)) return;
    this.activeGauge.set({ store }, 0);
    this.logger.log({ store }, `redis reachable again: ${store} counters are shared through Redis again`);
  }
}
