import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BehaviorSubject, isObservable, Observable, Subscription } from 'rxjs';
import { DRAIN_RETRY_MS, type DrainService } from 'src/common/drain/drain.service';
import { addHeartbeat, HeartbeatTarget } from 'src/common/sse/sse-heartbeat';
import type { MetricsService } from 'src/common/metrics/metrics.service';
import { AppConfig } from 'src/config/env';
import {
  formatSseComment,
  formatSseFrame,
  formatSseRetry,
  prefersEventStream,
  SseFrame,
} from 'src/common/sse/sse-format';

/**
 * Decision (docs/decisions-streaming.md): every endpoint that streams from the stream log (GET .../stream,
 * POST messages, regenerate, research) answers through `writeSse` with `@Res()`, not `@Sse()`:
 * - POST messages negotiates SSE or JSON on `Accept`; an `@Sse()` route always streams.
 * - the writer hands `res.write()` backpressure to the log's follower (`flow.paused`), so a slow client
 *   counts against `subscriberQueueMax`, is dropped with `SlowConsumerError` and shows in `stats()`; Nest's
 *   `@Sse()` queues for it in its own buffer instead (4M characters by default), invisible to Monitoring;
 * - the `retry:` hint and the headers go out at once, before the first event (the first token may be slow).
 * `@Sse()` with `toSseMessages()` (sse-message.ts) stays fine for in-process feeds such as Monitoring.
 */

/** Flow control the writer hands to the source; pass it to `StreamLog.follow(key, after, flow)`. */
export interface SseFlowControl {
  /** True while the response's buffer is full (`res.write()` returned false and no `'drain'` yet). */
  readonly paused: Observable<boolean>;
}

/**
 * What to stream: an Observable, or a factory that gets the flow control. A factory may be async and may
 * throw (access checks, 404): that happens before any header is written, so the exception filter answers.
 */
export type SseSource =
  Observable<SseFrame> | ((flow: SseFlowControl) => Observable<SseFrame> | Promise<Observable<SseFrame>>);

/** What a service returns for a stream: the frames, or null when nothing is left (answered with 204). */
export type SseAnswer = Observable<SseFrame> | null;

/** A source that may also say "nothing is left" (null: 204). */
export type SseSourceOrNothing = SseSource | ((flow: SseFlowControl) => SseAnswer | Promise<SseAnswer>);

export interface SseWriterOptions {
  /** A `: ping` comment goes out this often (the contract: at least every 15 s). */
  heartbeatMs: number;
  /** The `retry:` hint sent first (default 3000 ms). */
  retryMs?: number;
  /**
   * Events written while the response buffer stays full before the client is dropped (default 1000). A
   * source that honours `flow.paused` stops long before; this bounds sources that do not.
   */
  maxPendingEvents?: number;
  /**
   * A response whose buffer stays full this long is dropped as a slow consumer (default 30 s). This also
   * bounds a client stuck during a replay, where the follower reads nothing more and so grows nothing.
   */
  stallTimeoutMs?: number;
  /** Status of the response (default 200). */
  status?: number;
  /**
   * A last frame to write when the source errors (e.g. `{ type: 'error', data: { code, message } }`).
   * Default: none: the response just ends and an EventSource reconnects with its Last-Event-ID.
   */
  errorFrame?: (err: unknown) => SseFrame | null;
  /** When the drain begins, an open response gets a `retry:` hint (DRAIN_RETRY_MS) and ends (clients reconnect elsewhere). */
  drain?: Pick<DrainService, 'onDrain'>;
  /** Counts subscribers, events and slow consumers dropped (needs `kind`). */
  metrics?: Pick<
    MetricsService,
    'sseSubscriberOpened' | 'sseSubscriberClosed' | 'sseEventSent' | 'sseSlowConsumerDropped'
  >;
  /** Kind of the stream for the metrics ('chat', 'research'…). */
  kind?: string;
}

export type SseCloseReason = 'complete' | 'error' | 'client-closed' | 'slow-consumer';

export interface SseCloseInfo {
  reason: SseCloseReason;
  /** The id of the last event written to the response. */
  lastEventId: string | null;
  error?: unknown;
}

export interface SseConnection {
  /** Resolves (never rejects) when the response is over, with why. */
  readonly closed: Promise<SseCloseInfo>;
}

/** Writer options from the validated config. */
export function sseWriterOptions(
  config: AppConfig,
  extra: Pick<SseWriterOptions, 'drain' | 'metrics' | 'kind'> = {},
): SseWriterOptions {
  return { heartbeatMs: config.streaming.heartbeatMs, maxPendingEvents: config.streaming.subscriberQueueMax, ...extra };
}

/**
 * Streams `source` as text/event-stream on a Node/Express response: resolves the source (errors propagate,
 * nothing written yet), then sets the headers and flushes them at once, writes the `retry:` hint, then one
 * `id:/event:/data:` block per frame and a `: ping` comment every `heartbeatMs`. Ends the response when the
 * source completes or errors; unsubscribes when the client disconnects (the producer is not touched: the
 * source is a follower of the log, not the job). Resolves once streaming has started.
 * A factory that resolves null means "nothing is left to stream" (the client already has the terminal
 * event): the answer is 204 with no body, so that an EventSource stops reconnecting; resolves null.
 */
export async function writeSse(
  res: ServerResponse,
  source: SseSource,
  options: SseWriterOptions,
): Promise<SseConnection>;
export async function writeSse(
  res: ServerResponse,
  source: SseSourceOrNothing,
  options: SseWriterOptions,
): Promise<SseConnection | null>;
export async function writeSse(
  res: ServerResponse,
  source: SseSourceOrNothing,
  options: SseWriterOptions,
): Promise<SseConnection | null> {
  const flow = new BehaviorSubject<boolean>(false);
  const frames = typeof source === 'function' ? await source({ paused: flow.asObservable() }) : source;
  if (frames === null) {
    flow.complete();
    if (!res.headersSent && !res.destroyed) {
      res.statusCode = 204;
      res.end();
    }
    return null;
  }
  if (!isObservable(frames)) throw new TypeError('writeSse: the source must be an Observable of frames');
  return new SseWriter(res, frames, flow, options).start();
}

/** The JSON answer of an endpoint that streams or answers JSON (e.g. 202 with the created messages). */
export interface SseJsonAnswer {
  status: number;
  body: unknown;
  /** A `Location` header (e.g. the stream URL). */
  location?: string;
}

/**
 * For endpoints that stream or answer JSON (POST messages, regenerate): with `Accept: application/json`
 * (and not `text/event-stream`) writes `json` and resolves null; otherwise streams `source` like `writeSse`.
 * The caller has already done the work (access, idempotency, starting the job).
 */
export async function writeSseOrJson(
  req: IncomingMessage,
  res: ServerResponse,
  json: SseJsonAnswer,
  source: SseSourceOrNothing,
  options: SseWriterOptions,
): Promise<SseConnection | null> {
  if (prefersEventStream(req.headers.accept)) return writeSse(res, source, options);
  res.statusCode = json.status;
  if (json.location) res.setHeader('Location', json.location);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(json.body));
  return null;
}

const PING = formatSseComment('ping');

/**
 * Helmet's headers that only mean something for a document a browser renders or frames (CSP, framing, opener,
 * referrer, DNS prefetch, download and Flash/PDF policies, the legacy XSS filter). An event stream is read by
 * `EventSource`/fetch and never rendered, so an open stream does not carry them: Node keeps every header it sent
 * for the life of the response (docs/performance.md "Idle memory per stream"; issue 18: "a lighter request
 * decoration for SSE routes"). What applies to any resource stays: `X-Content-Type-Options: nosniff`,
 * `Cross-Origin-Resource-Policy` (no-cors loads from other sites), HSTS (production), CORS and the correlation id.
 * Error answers of the same routes, written before the stream starts, keep every header.
 */
const DOCUMENT_ONLY_HEADERS = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

/** One logger for every writer (an idle stream holds as little as it can: docs/performance.md "Idle memory"). */
const logger = new Logger('SseWriter');

class SseWriter implements HeartbeatTarget {
  private subscription?: Subscription;
  private offHeartbeat?: () => void;
  private stall?: NodeJS.Timeout;
  private lastEventId: string | null = null;
  private pending = 0;
  private done = false;
  private counted = false;
  private offDrain?: () => void;
  private resolveClosed!: (info: SseCloseInfo) => void;
  private readonly closed = new Promise<SseCloseInfo>((resolve) => (this.resolveClosed = resolve));

  constructor(
    private readonly res: ServerResponse,
    private readonly frames: Observable<SseFrame>,
    private readonly flow: BehaviorSubject<boolean>,
    private readonly options: SseWriterOptions,
  ) {}

  start(): SseConnection {
    const { res } = this;
    // The client may have left while the source was being prepared ('close' has been emitted already).
    if (res.destroyed || res.writableEnded || res.socket?.destroyed === true) {
      this.close('client-closed');
      return { closed: this.closed };
    }
    res.statusCode = this.options.status ?? 200;
    for (const name of DOCUMENT_ONLY_HEADERS) res.removeHeader(name);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    if ((res.req?.httpVersionMajor ?? 1) < 2) res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.socket?.setNoDelay(true);
    res.on('close', this.onClose);
    res.on('drain', this.onDrain);
    res.on('error', this.onError);
    // The headers leave with this first frame, in one write (a flushHeaders() before it was a system call of
    // its own per stream, ~1 % of a profile at 200 streams).
    this.write(formatSseRetry(this.options.retryMs ?? 3000));
    if (this.options.metrics && this.options.kind) {
      this.options.metrics.sseSubscriberOpened(this.options.kind);
      this.counted = true;
    }
    this.offHeartbeat = addHeartbeat(this.options.heartbeatMs, this);
    this.subscription = this.frames.subscribe({
      next: (frame) => this.onFrame(frame),
      error: (err: unknown) => this.onSourceError(err),
      complete: () => this.close('complete'),
    });
    // The source may have ended (or the client left) synchronously, before `subscription` was assigned.
    if (this.done) this.subscription.unsubscribe();
    else if (this.options.drain) {
      const offDrain = this.options.drain.onDrain(this.onDrainBegin);
      // onDrain runs the callback at once when the drain has begun already (then `done` is set).
      if (this.done) offDrain();
      else this.offDrain = offDrain;
    }
    return { closed: this.closed };
  }

  private onFrame(frame: SseFrame): void {
    if (this.done) return;
    let chunk: string;
    try {
      chunk = formatSseFrame(frame);
    } catch (err) {
      return this.onSourceError(err);
    }
    const ok = this.write(chunk);
    if (this.counted) this.options.metrics?.sseEventSent(this.options.kind, frame.type);
    if (frame.id !== undefined) this.lastEventId = frame.id;
    if (ok) return;
    this.pending++;
    if (!this.flow.value) this.flow.next(true);
    this.stall ??= setTimeout(() => this.close('slow-consumer'), this.options.stallTimeoutMs ?? 30_000).unref();
    if (this.pending > (this.options.maxPendingEvents ?? 1000)) this.close('slow-consumer');
  }

  private onSourceError(err: unknown): void {
    if (this.done) return;
    const frame = this.options.errorFrame?.(err);
    if (frame) this.write(formatSseFrame(frame));
    const e = err as Error;
    logger.warn(`stream ended by ${e?.name ?? 'error'}: ${e?.message ?? String(err)}`);
    this.close(e?.name === 'SlowConsumerError' ? 'slow-consumer' : 'error', err);
  }

  private readonly onDrain = (): void => {
    this.pending = 0;
    clearTimeout(this.stall);
    this.stall = undefined;
    if (this.flow.value) this.flow.next(false);
  };

  private readonly onClose = (): void => this.close('client-closed');

  /** The instance drains: tell the client to reconnect soon (to another instance) and end. */
  private readonly onDrainBegin = (): void => {
    if (this.done) return;
    this.write(formatSseRetry(DRAIN_RETRY_MS));
    this.close('complete');
  };

  private readonly onError = (err: Error): void => {
    logger.debug(`response error: ${err.message}`);
  };

  /** Called by the shared heartbeat (sse-heartbeat.ts); skipped while the response's buffer is full. */
  ping(): void {
    if (!this.res.writableNeedDrain) this.write(PING);
  }

  private write(chunk: string): boolean {
    if (this.res.destroyed || this.res.writableEnded) return false;
    return this.res.write(chunk);
  }

  private close(reason: SseCloseReason, error?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.offDrain?.();
    if (this.counted) this.options.metrics?.sseSubscriberClosed(this.options.kind);
    if (this.counted && reason === 'slow-consumer') this.options.metrics?.sseSlowConsumerDropped(this.options.kind);
    this.offHeartbeat?.();
    clearTimeout(this.stall);
    this.subscription?.unsubscribe();
    this.flow.complete();
    this.res.off('drain', this.onDrain);
    this.res.off('close', this.onClose);
    if (!this.res.writableEnded && !this.res.destroyed) {
      const stuck = this.res.writableNeedDrain;
      this.res.end();
      // A client that stopped reading would hold the socket until it reads: give it one heartbeat.
      if (stuck) {
        setTimeout(() => {
          if (!this.res.writableFinished) this.res.destroy();
        }, this.options.heartbeatMs).unref();
      }
    }
    this.resolveClosed({ reason, lastEventId: this.lastEventId, error });
  }
}
