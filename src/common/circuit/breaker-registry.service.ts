import { Injectable, Logger } from '@nestjs/common';
import {
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  IBreaker,
  SamplingBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';

export type BreakerKind = 'route' | 'agent';
export type BreakerStateName = 'closed' | 'open' | 'half_open' | 'isolated';

/** A failure-rate window: opens when more than `rate` (0..1) of the calls in `windowMs` failed, once it holds `minRequests`. */
export interface SamplingOptions {
  rate: number;
  windowMs: number;
  minRequests: number;
}

export interface BreakerOptions {
  kind: BreakerKind;
  /** Consecutive failures that open the breaker (ignored when `sampling` is given). */
  failureThreshold?: number;
  /** Open on a failure rate over a window with a minimum volume instead of consecutive failures. */
  sampling?: SamplingOptions;
  /** How long the breaker stays open before letting one half-open probe through. */
  resetTimeoutMs: number;
  /** Which errors count as failures (client errors must not). Default: all. */
  isFailure?: (err: unknown) => boolean;
  /** Extra labels for monitoring, e.g. { teamId } for agent breakers. */
  labels?: Record<string, string>;
}

export interface BreakerSnapshot {
  name: string;
  kind: BreakerKind;
  state: BreakerStateName;
  labels: Record<string, string>;
  openedAt: string | null;
  /** Seconds until a half-open probe is allowed; 0 when not open. */
  retryAfterSec: number;
}

interface Entry {
  name: string;
  options: BreakerOptions;
  policy: CircuitBreakerPolicy;
  openedAt: number | null;
}

const STATE_NAMES: Record<CircuitState, BreakerStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
};

function makeBreaker(options: BreakerOptions): IBreaker {
  const s = options.sampling;
  if (!s) return new ConsecutiveBreaker(options.failureThreshold ?? 5);
  // cockatiel compares the window's volume with duration × minimumRps: this makes it `minRequests`.
  return new SamplingBreaker({
    threshold: s.rate,
    duration: s.windowMs,
    minimumRps: (s.minRequests * 1000) / s.windowMs,
  });
}

/**
 * The one registry of circuit breakers (per route, per agent). The state machine is cockatiel's;
 * this service creates breakers on first use, remembers when each opened (for Retry-After) and gives
 * Monitoring and health a snapshot of all of them.
 */
@Injectable()
export class BreakerRegistry {
  private readonly logger = new Logger(BreakerRegistry.name);
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(s: BreakerSnapshot) => void>();

  get(name: string, options: BreakerOptions): CircuitBreakerPolicy {
    const existing = this.entries.get(name);
    if (existing) return existing.policy;
    const policy = circuitBreaker(handleWhen(options.isFailure ?? (() => true)), {
      halfOpenAfter: options.resetTimeoutMs,
      breaker: makeBreaker(options),
    });
    const entry: Entry = { name, options, policy, openedAt: null };
    policy.onBreak(() => {
      entry.openedAt = Date.now();
      this.logger.warn(`circuit ${name} opened`);
      this.emit(entry);
    });
    policy.onHalfOpen(() => this.emit(entry));
    policy.onReset(() => {
      entry.openedAt = null;
      this.logger.log(`circuit ${name} closed`);
      this.emit(entry);
    });
    this.entries.set(name, entry);
    return policy;
  }

  /** Seconds a client should wait before retrying a call through an open breaker (at least 1). */
  retryAfterSec(name: string): number {
    const e = this.entries.get(name);
    if (!e || e.openedAt === null) return 1;
    const left = e.openedAt + e.options.resetTimeoutMs - Date.now();
    return Math.max(1, Math.ceil(left / 1000));
  }

  snapshot(kind?: BreakerKind): BreakerSnapshot[] {
    return [...this.entries.values()].filter((e) => !kind || e.options.kind === kind).map((e) => this.toSnapshot(e));
  }

  /** Called on every state change (metrics use it). Returns an unsubscribe function. */
  onStateChange(listener: (s: BreakerSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: Entry): void {
    const snap = this.toSnapshot(e);
    for (const l of this.listeners) l(snap);
  }

  private toSnapshot(e: Entry): BreakerSnapshot {
    const state = STATE_NAMES[e.policy.state];
    return {
      name: e.name,
      kind: e.options.kind,
      state,
      labels: e.options.labels ?? {},
      openedAt: e.openedAt ? new Date(e.openedAt).toISOString() : null,
      retryAfterSec: state === 'open' ? this.retryAfterSec(e.name) : 0,
    };
  }
}
