import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { BreakerRegistry, BreakerSnapshot, BreakerStateName } from 'src/common/circuit/breaker-registry.service';

/** Every metric of the service starts with this prefix (docs/monitoring.md lists them all). */
export const METRIC_PREFIX = 'chat_backend_';

/** Kind of an SSE stream, taken from the first segment of its stream key (`chat`, `research`, `monitoring`…). */
export type SseKind = string;
export type TokenKind = 'prompt' | 'completion';

/** Breaker state as a number: 0 closed, 1 half-open, 2 open (isolated counts as open). */
const BREAKER_VALUE: Record<BreakerStateName, number> = { closed: 0, half_open: 1, open: 2, isolated: 2 };

/** Latency buckets (seconds) for HTTP requests. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** LLM buckets (seconds): first tokens take from tens of milliseconds to a minute, whole replies longer. */
const LLM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];
/** Database writes per reply: a few batches whatever the number of deltas. */
const DB_WRITES_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64];

interface PgPoolLike {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/**
 * The one Prometheus registry of the application. Every metric is defined here, once; other modules
 * record through the small typed methods below and never touch prom-client. Each application instance owns
 * its own `Registry` (several apps in one test process do not collide).
 */
@Injectable()
export class MetricsService implements OnModuleInit, OnModuleDestroy {
  readonly registry = new Registry();
  private unsubscribeBreakers?: () => void;

  private readonly httpDuration = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: 'HTTP request duration by method, route template and status (SSE responses excluded)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  private readonly throttled = new Counter({
    name: `${METRIC_PREFIX}throttled_requests_total`,
    help: 'Requests answered 429 (global throttler, login/register limits, per-user message rate, budgets)',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  private readonly sseStreams = new Gauge({
    name: `${METRIC_PREFIX}sse_streams_active`,
    help: 'Streams being produced in this process (generation jobs, research pipelines)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly sseSubscribers = new Gauge({
    name: `${METRIC_PREFIX}sse_subscribers_active`,
    help: 'Open SSE responses in this process',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly sseEvents = new Counter({
    name: `${METRIC_PREFIX}sse_events_sent_total`,
    help: 'SSE events written to clients',
    labelNames: ['kind', 'type'] as const,
    registers: [this.registry],
  });
  private readonly streamResumes = new Counter({
    name: `${METRIC_PREFIX}stream_resumes_total`,
    help: 'Streams resumed with Last-Event-ID, by where the replay came from (log or database)',
    labelNames: ['kind', 'source'] as const,
    registers: [this.registry],
  });
  private readonly streamGaps = new Counter({
    name: `${METRIC_PREFIX}stream_gaps_total`,
    help: 'Gaps in a stream log found by followers (filled from the database) and streams the log lost and their producer re-seeded',
    labelNames: ['kind', 'event'] as const,
    registers: [this.registry],
  });
  private readonly streamCancels = new Counter({
    name: `${METRIC_PREFIX}stream_cancels_total`,
    help: 'Streams cancelled by their owner',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly slowConsumers = new Counter({
    name: `${METRIC_PREFIX}sse_slow_consumers_dropped_total`,
    help: 'SSE clients dropped for not reading fast enough',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly llmFirstTokenSeconds = new Histogram({
    name: `${METRIC_PREFIX}llm_time_to_first_token_seconds`,
    help: 'Time from the upstream call to the first content delta',
    labelNames: ['provider'] as const,
    buckets: LLM_BUCKETS,
    registers: [this.registry],
  });
  private readonly llmDurationSeconds = new Histogram({
    name: `${METRIC_PREFIX}llm_request_duration_seconds`,
    help: 'Duration of an LLM generation, by provider and outcome (ok, error, cancelled)',
    labelNames: ['provider', 'outcome'] as const,
    buckets: LLM_BUCKETS,
    registers: [this.registry],
  });
  private readonly llmTokensTotal = new Counter({
    name: `${METRIC_PREFIX}llm_tokens_total`,
    help: 'Tokens reported by providers, by kind (prompt, completion)',
    labelNames: ['provider', 'kind'] as const,
    registers: [this.registry],
  });
  private readonly llmErrorsTotal = new Counter({
    name: `${METRIC_PREFIX}llm_errors_total`,
    help: 'Failed upstream LLM calls by provider and error code',
    labelNames: ['provider', 'code'] as const,
    registers: [this.registry],
  });
  private readonly llmFallbacksTotal = new Counter({
    name: `${METRIC_PREFIX}llm_fallbacks_total`,
    help: 'Generations moved to a fallback agent, by the provider that failed',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  private readonly replyDbWrites = new Histogram({
    name: `${METRIC_PREFIX}chat_reply_db_writes`,
    help: 'Database writes the generation job made for one finished reply (progress batches, lease renewals, the final write)',
    buckets: DB_WRITES_BUCKETS,
    registers: [this.registry],
  });
  private readonly breakerState = new Gauge({
    name: `${METRIC_PREFIX}circuit_breaker_state`,
    help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
    labelNames: ['breaker', 'kind'] as const,
    registers: [this.registry],
    collect: () => this.refreshBreakers(),
  });
  private readonly dbPool = new Gauge({
    name: `${METRIC_PREFIX}db_pool_connections`,
    help: 'Database pool connections by state: total, idle, waiting (clients queued for a connection)',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: () => this.refreshDbPool(),
  });
  private readonly errorsRecorded = new Counter({
    name: `${METRIC_PREFIX}errors_logged_total`,
    help: 'Entries written to the error log, by source (http, llm, …) and code',
    labelNames: ['source', 'code'] as const,
    registers: [this.registry],
  });
  private readonly stampBumpFailures = new Counter({
    name: `${METRIC_PREFIX}cache_stamp_bump_failures_total`,
    help: 'Version stamp bumps that failed after their write committed (caches of the scope stale until their TTL)',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  private readonly stampReadFailures = new Counter({
    name: `${METRIC_PREFIX}cache_stamp_read_failures_total`,
    help: 'Version stamp reads that failed (Redis unreachable): the value was loaded from the database, not cached',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  private readonly idleGcRuns = new Counter({
    name: `${METRIC_PREFIX}idle_gc_total`,
    help: 'Memory-reducing GCs run by the idle memory reducer (only on a quiet process)',
    registers: [this.registry],
  });
  private readonly idleGcPause = new Counter({
    name: `${METRIC_PREFIX}idle_gc_pause_seconds_total`,
    help: 'Time the idle memory reducer stopped the event loop for, in total',
    registers: [this.registry],
  });
  private readonly idleGcReleased = new Counter({
    name: `${METRIC_PREFIX}idle_gc_released_bytes_total`,
    help: 'RSS the idle memory reducer gave back to the system, in total',
    registers: [this.registry],
  });

  constructor(
    private readonly breakers: BreakerRegistry,
    private readonly dataSource: DataSource,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX, eventLoopMonitoringPrecision: 20 });
  }

  onModuleInit(): void {
    this.unsubscribeBreakers = this.breakers.onStateChange((s) => this.setBreaker(s));
  }

  onModuleDestroy(): void {
    this.unsubscribeBreakers?.();
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------

  /** One finished HTTP request; `route` is the template (`/api/chats/:id`) or `unmatched`. */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  /** A request answered 429. */
  throttledRequest(route: string): void {
    this.throttled.inc({ route });
  }

  // ---- SSE and the stream log ---------------------------------------------------------------------------

  /** A producer (generation job, research pipeline) started / finished a stream. */
  sseStreamStarted(kind: SseKind = 'chat'): void {
    this.sseStreams.inc({ kind });
  }
  sseStreamEnded(kind: SseKind = 'chat'): void {
    this.sseStreams.dec({ kind });
  }

  /** An SSE response opened / closed (call both exactly once per response). */
  sseSubscriberOpened(kind: SseKind = 'chat'): void {
    this.sseSubscribers.inc({ kind });
  }
  sseSubscriberClosed(kind: SseKind = 'chat'): void {
    this.sseSubscribers.dec({ kind });
  }

  /** An event written to a client; `type` is the event type (status, message, done, error…). */
  sseEventSent(kind: SseKind = 'chat', type = 'message', count = 1): void {
    this.sseEvents.inc({ kind, type }, count);
  }

  /** A stream resumed after Last-Event-ID; `source` says whether the log or the database served it. */
  streamResumed(kind: SseKind = 'chat', source: 'log' | 'database' = 'log'): void {
    this.streamResumes.inc({ kind, source });
  }

  /** `filled`: a follower found a gap and served it from the database; `reseeded`: a producer re-seeded a lost stream. */
  streamGap(kind: SseKind, event: 'filled' | 'reseeded'): void {
    this.streamGaps.inc({ kind, event });
  }

  streamCancelled(kind: SseKind = 'chat'): void {
    this.streamCancels.inc({ kind });
  }

  sseSlowConsumerDropped(kind: SseKind = 'chat'): void {
    this.slowConsumers.inc({ kind });
  }

  // ---- LLM ----------------------------------------------------------------------------------------------

  llmFirstToken(provider: string, seconds: number): void {
    this.llmFirstTokenSeconds.observe({ provider }, seconds);
  }

  llmDuration(provider: string, seconds: number, outcome: 'ok' | 'error' | 'cancelled' = 'ok'): void {
    this.llmDurationSeconds.observe({ provider, outcome }, seconds);
  }

  llmTokens(provider: string, kind: TokenKind, count: number): void {
    if (count > 0) this.llmTokensTotal.inc({ provider, kind }, count);
  }

  /** Convenience for a reply's usage. */
  llmUsage(provider: string, usage: { promptTokens?: number; completionTokens?: number }): void {
    this.llmTokens(provider, 'prompt', usage.promptTokens ?? 0);
    this.llmTokens(provider, 'completion', usage.completionTokens ?? 0);
  }

  llmError(provider: string, code: string): void {
    this.llmErrorsTotal.inc({ provider, code });
  }

  /** `provider` is the provider that failed and handed over to the fallback agent. */
  llmFallback(provider: string): void {
    this.llmFallbacksTotal.inc({ provider });
  }

  // ---- chats --------------------------------------------------------------------------------------------

  /** One finished reply: `n` database writes made for it by its generation job. */
  chatReplyDbWrites(n: number): void {
    this.replyDbWrites.observe(n);
  }

  // ---- error log ----------------------------------------------------------------------------------------

  errorLogged(source: string, code: string): void {
    this.errorsRecorded.inc({ source, code });
  }

  // ---- caches -------------------------------------------------------------------------------------------

  /** `scope` is the kind of stamp scope (`agents`, `member`), never an id. */
  stampBumpFailed(scope: string): void {
    this.stampBumpFailures.inc({ scope });
  }

  stampReadFailed(scope: string): void {
    this.stampReadFailures.inc({ scope });
  }

  // ---- memory ------------------------------------------------------------------------------------------

  /** The idle memory reducer ran a memory-reducing GC: its pause, and how much RSS went. */
  idleGcRan(pauseSeconds: number, releasedBytes: number): void {
    this.idleGcRuns.inc();
    this.idleGcPause.inc(pauseSeconds);
    this.idleGcReleased.inc(releasedBytes);
  }

  // ---- collected on scrape ------------------------------------------------------------------------------

  private setBreaker(s: BreakerSnapshot): void {
    this.breakerState.set({ breaker: s.name, kind: s.kind }, BREAKER_VALUE[s.state]);
  }

  private refreshBreakers(): void {
    for (const s of this.breakers.snapshot()) this.setBreaker(s);
  }

  private refreshDbPool(): void {
    const pool = (this.dataSource.driver as unknown as { master?: PgPoolLike }).master;
    if (!pool || typeof pool.totalCount !== 'number') return;
    this.dbPool.set({ state: 'total' }, pool.totalCount);
    this.dbPool.set({ state: 'idle' }, pool.idleCount);
    this.dbPool.set({ state: 'waiting' }, pool.waitingCount);
  }
}
