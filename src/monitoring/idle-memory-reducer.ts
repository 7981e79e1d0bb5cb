import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';

/** How often the reducer looks at the process (cheap: two timestamps, a counter and the event loop's utilization). */
export const IDLE_GC_CHECK_MS = 1000;
/** Event-loop utilization over the last check above which the process is not quiet (work without requests). */
export const IDLE_GC_MAX_ELU = 0.05;
/** Requests to these paths (health probes, Prometheus scrapes) do not count as traffic: they come every few seconds. */
const PROBE_PATHS = ['/health', '/metrics'];

export interface IdleGcSettings {
  /** No request (probes aside) started for this long. */
  quietMs: number;
  /** At most one reducing GC per this long. */
  minIntervalMs: number;
  /** RSS must have grown by this much since the last reducing GC (otherwise there is little to release). */
  minRssGrowthBytes: number;
  /** Event-loop utilization over the last check must be at most this. */
  maxElu: number;
}

/** What the reducer sees at one check. */
export interface IdleSnapshot {
  now: number;
  /** Requests started and not yet closed (an open SSE stream is one), probes included. */
  inFlight: number;
  /** When the last request other than a probe started (the service's start when none did). */
  lastRequestAt: number;
  /** Event-loop utilization since the previous check, 0–1. */
  elu: number;
  /** When the last reducing GC ran; undefined if none did. */
  lastRunAt: number | undefined;
  rssBytes: number;
  /** RSS right after the last reducing GC (at start when none ran yet). */
  rssAfterLastRunBytes: number;
}

export type IdleGcDecision = 'run' | 'in-flight' | 'recent-request' | 'busy' | 'rate-limited' | 'little-to-release';

/**
 * Whether to run a memory-reducing GC now. Only on a quiet process: nothing in flight (no request, no open
 * stream), no request for `quietMs`, an idle event loop; at most once per `minIntervalMs`, and only when RSS
 * grew enough since the last one to be worth a full GC.
 */
export function decideIdleGc(s: IdleSnapshot, o: IdleGcSettings): IdleGcDecision {
  if (s.inFlight > 0) return 'in-flight';
  if (s.now - s.lastRequestAt < o.quietMs) return 'recent-request';
  if (s.elu > o.maxElu) return 'busy';
  if (s.lastRunAt !== undefined && s.now - s.lastRunAt < o.minIntervalMs) return 'rate-limited';
  if (s.rssBytes - s.rssAfterLastRunBytes < o.minRssGrowthBytes) return 'little-to-release';
  return 'run';
}

type GcFunction = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * V8's gc() for a memory-reducing GC. Started without --expose-gc, the flag is set now and the function taken
 * from a new context (the main context was created before the flag; only new contexts get the extension).
 */
function obtainGc(): GcFunction {
  const existing = (globalThis as { gc?: GcFunction }).gc;
  if (typeof existing === 'function') return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as GcFunction;
}

/**
 * Gives memory back to the system once the service has gone quiet, as V8's memory reducer does in a browser.
 *
 * Node 24's V8 keeps the pages that a mark-compact frees in a pool instead of unmapping them. After SSE churn
 * that pool holds ~160 MB of RSS. Only a memory-reducing GC releases it. V8's own memory reducer does run in
 * Node, but it treats the process as busy: the allocation rate Node's embedder heap reports is always 0, and V8
 * reads 0 as "unknown, assume high". It starts its GC only through its watchdog, 100 s after the last
 * mark-compact, and never while mark-compacts come more often than that (docs/reliability.md "Memory").
 *
 * This service does the same sooner, and only on a quiet process: see `decideIdleGc`. The GC is V8's
 * "last-resort" flavour (`CollectAllAvailableGarbage`: mark-compacts that shrink the heap and empty the page
 * pool). It stops the world for 50–200 ms with a ~50 MB heap, so it never runs while a request or stream is
 * open. A request that arrives during it waits that long. `execution: 'async'` would not help: it only posts
 * the same GC as a task on the main thread.
 */
@Injectable()
export class IdleMemoryReducer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(IdleMemoryReducer.name);
  private readonly settings: IdleGcSettings;
  private timer?: NodeJS.Timeout;
  private server?: Server;
  private inFlight = 0;
  private lastRequestAt = Date.now();
  private lastRunAt: number | undefined;
  private rssAfterLastRun = process.memoryUsage.rss();
  private lastElu = performance.eventLoopUtilization();
  private gc?: GcFunction;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const c = config.idleGc;
    this.settings = {
      quietMs: c.quietMs,
      minIntervalMs: c.minIntervalMs,
      minRssGrowthBytes: c.minRssGrowthMb * 1024 * 1024,
      maxElu: IDLE_GC_MAX_ELU,
    };
    if (c.enabled) this.gc = obtainGc();
  }

  onApplicationBootstrap(): void {
    if (!this.gc) return;
    this.server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    this.server?.on('request', this.onRequest);
    this.timer = setInterval(() => this.check(), IDLE_GC_CHECK_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.server?.off('request', this.onRequest);
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.inFlight++;
    res.once('close', () => this.inFlight--);
    const url = req.url ?? '';
    if (!PROBE_PATHS.some((p) => url === p || url.startsWith(`${p}/`) || url.startsWith(`${p}?`)))
      this.lastRequestAt = Date.now();
  };

  /** One look at the process; runs the GC when `decideIdleGc` says so. */
  check(now = Date.now()): IdleGcDecision {
    const elu = this.sampleElu();
    const decision = decideIdleGc(
      {
        now,
        inFlight: this.inFlight,
        lastRequestAt: this.lastRequestAt,
        elu,
        lastRunAt: this.lastRunAt,
        rssBytes: process.memoryUsage.rss(),
        rssAfterLastRunBytes: this.rssAfterLastRun,
      },
      this.settings,
    );
    if (decision === 'run') this.reduce(now);
    return decision;
  }

  /** Event-loop utilization since the previous sample. */
  private sampleElu(): number {
    const elu = performance.eventLoopUtilization(this.lastElu).utilization;
    this.lastElu = performance.eventLoopUtilization();
    return elu;
  }

  private reduce(now: number): void {
    const before = process.memoryUsage.rss();
    const started = performance.now();
    this.gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    const pauseMs = performance.now() - started;
    const after = process.memoryUsage.rss();
    this.lastRunAt = now;
    this.rssAfterLastRun = after;
    // The check's own ELU sample would count the pause as work: start the next window after it.
    this.lastElu = performance.eventLoopUtilization();
    this.metrics.idleGcRan(pauseMs / 1000, Math.max(0, before - after));
    this.logger.debug(
      `idle memory-reducing GC: ${pauseMs.toFixed(0)} ms pause, rss ${(before / 1048576).toFixed(1)} → ${(after / 1048576).toFixed(1)} MB`,
    );
  }
}
