import { AttemptFailure, CallerAbort, classifyError, TimeoutPhase, timeoutFailure } from 'src/llm/llm.errors';
import { LlmAgentConfig, LlmChunk, LlmMessage, LlmProvider, LlmRequestOptions } from 'src/llm/llm.types';

export interface AttemptTimeouts {
  connectMs: number;
  firstTokenMs: number;
  idleMs: number;
}

export interface OpenedAttempt {
  /** Chunks read so far: ends with the first delta (or tool call), unless the stream ended without any. */
  chunks: LlmChunk[];
  ended: boolean;
}

/** Marks an abort caused by one of our timers (the signal's reason). */
class TimeoutSignal extends Error {
  constructor(readonly phase: TimeoutPhase) {
    super(`upstream ${phase} timeout`);
    this.name = 'TimeoutError';
  }
}

/**
 * One call to one upstream, with its own AbortController linked to the caller's signal. It enforces the
 * connect, first-token and idle timeouts by aborting that controller (which cancels the HTTP request),
 * and races every read against the abort, so even an adapter that ignores its signal cannot hang us.
 * Everything it throws is an AttemptFailure or a CallerAbort. `close()` must always be called.
 */
export class UpstreamAttempt {
  private readonly controller = new AbortController();
  private readonly timers = new Map<TimeoutPhase, NodeJS.Timeout>();
  /**
   * The idle timer: one per attempt, refreshed by each `next()` (a read per delta: a new timer and an abort
   * listener per read showed in profiles); it aborts only while a read waits, so the consumer's own time
   * between reads never counts.
   */
  private idleTimer: NodeJS.Timeout | null = null;
  private reading = false;
  /** The rejections of the reads in flight, called when the attempt's signal aborts (see `guard`). */
  private readonly waiting = new Set<(reason: unknown) => void>();
  private iterator: AsyncIterator<LlmChunk> | null = null;
  private closed = false;
  private readonly onCallerAbort = (): void => this.controller.abort(this.callerSignal.reason);

  constructor(
    private readonly provider: LlmProvider,
    private readonly agent: LlmAgentConfig,
    private readonly messages: LlmMessage[],
    private readonly callerSignal: AbortSignal,
    private readonly timeouts: AttemptTimeouts,
    /** Runs first, inside the connect phase (the outbound URL check). */
    private readonly beforeCall: () => Promise<void>,
    private readonly options?: LlmRequestOptions,
  ) {
    const signal = this.controller.signal;
    signal.addEventListener(
      'abort',
      () => {
        for (const reject of this.waiting) reject(signal.reason);
        this.waiting.clear();
      },
      { once: true },
    );
  }

  /** Sends the request and reads up to the first delta. */
  async open(): Promise<OpenedAttempt> {
    if (this.callerSignal.aborted) throw new CallerAbort(this.callerSignal.reason);
    this.callerSignal.addEventListener('abort', this.onCallerAbort, { once: true });
    this.arm('connect', this.timeouts.connectMs);
    this.arm('first_token', this.timeouts.firstTokenMs);
    try {
      await this.guard(this.beforeCall());
      const hooks = { onConnected: () => this.disarm('connect') };
      this.iterator = this.provider
        .stream(this.agent, this.messages, this.controller.signal, hooks, this.options)
        [Symbol.asyncIterator]();
      const chunks: LlmChunk[] = [];
      for (;;) {
        const r = await this.guard(this.iterator.next());
        if (r.done) {
          this.controller.signal.throwIfAborted();
          return { chunks, ended: true };
        }
        chunks.push(r.value);
        // The first output: text or a tool call.
        if (r.value.type === 'delta' || r.value.type === 'tool_call') return { chunks, ended: false };
      }
    } catch (err) {
      throw this.failure(err);
    } finally {
      this.disarm('connect');
      this.disarm('first_token');
    }
  }

  /** The next chunk after the first delta, within the idle timeout. */
  async next(): Promise<IteratorResult<LlmChunk>> {
    if (!this.iterator) throw new Error('UpstreamAttempt.next() before open()');
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => {
        if (this.reading) this.controller.abort(new TimeoutSignal('idle'));
      }, this.timeouts.idleMs);
    }
    this.reading = true;
    try {
      const r = await this.guard(this.iterator.next());
      if (r.done) this.controller.signal.throwIfAborted();
      return r;
    } catch (err) {
      throw this.failure(err);
    } finally {
      this.reading = false;
    }
  }

  /** Stops timers and cancels the upstream request if it is still running. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const phase of [...this.timers.keys()]) this.disarm(phase);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.callerSignal.removeEventListener('abort', this.onCallerAbort);
    if (!this.controller.signal.aborted) this.controller.abort(new Error('attempt closed'));
    this.iterator?.return?.().catch(() => undefined);
  }

  private arm(phase: TimeoutPhase, ms: number): void {
    this.disarm(phase);
    this.timers.set(
      phase,
      setTimeout(() => this.controller.abort(new TimeoutSignal(phase)), ms),
    );
  }

  private disarm(phase: TimeoutPhase): void {
    const t = this.timers.get(phase);
    if (t) clearTimeout(t);
    this.timers.delete(phase);
  }

  /** Resolves like `p`, or rejects with the abort reason as soon as the attempt's signal aborts. */
  private guard<T>(p: Promise<T>): Promise<T> {
    const signal = this.controller.signal;
    p.catch(() => undefined);
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      p.then(
        (v) => {
          this.waiting.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          this.waiting.delete(reject);
          reject(e);
        },
      );
    });
  }

  private failure(err: unknown): AttemptFailure | CallerAbort {
    if (this.callerSignal.aborted) return new CallerAbort(this.callerSignal.reason);
    const reason: unknown = this.controller.signal.reason;
    if (reason instanceof TimeoutSignal) return timeoutFailure(reason.phase, this.agent);
    return classifyError(err, this.agent);
  }
}
