import { Inject, Injectable, Logger } from '@nestjs/common';
import { BrokenCircuitError, IsolatedCircuitError } from 'cockatiel';
import { AppError } from 'src/common/errors/app-error';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { abortableSleep } from 'src/llm/abortable-sleep';
import { AgentBreakers } from 'src/llm/agent-breakers';
import { AttemptFailure, CallerAbort, classifyError, LlmErrors, UpstreamError } from 'src/llm/llm.errors';
import {
  LlmAgentConfig,
  LlmChunk,
  LlmCompletion,
  LlmMessage,
  LlmProvider,
  LlmRequestOptions,
  LlmUsage,
} from 'src/llm/llm.types';
import { LlmProviderRegistry } from 'src/llm/provider-registry';
import { UpstreamAttempt } from 'src/llm/upstream-attempt';
import { assertSafeUpstreamUrl } from 'src/llm/url-safety';

/** A Retry-After longer than this is not waited for: the agent fails over (or the error surfaces). */
const MAX_RETRY_WAIT_MS = 30_000;

type Opened = { attempt: UpstreamAttempt; chunks: LlmChunk[]; ended: boolean; startedAt: number };
type OpenResult = Opened | { error: AppError };

const secondsSince = (start: number): number => (performance.now() - start) / 1000;

/**
 * Streams a reply from an agent chain: chain[0] is the primary, the rest its fallbacks in order.
 *
 * - Before each agent a `status` chunk names it (the last status before the first delta is the agent
 *   and model that served). An agent whose breaker is open is skipped without a status.
 * - Before the first delta: retryable failures (connection, 429, 5xx, connect/first-token timeout) are
 *   retried with backoff retryBaseMs × 1, 2, 4… up to maxAttempts (a 429's Retry-After replaces the
 *   backoff); then the next agent is tried. After the first delta nothing is retried or failed over:
 *   errors are thrown (as AppError) and the caller keeps the partial output.
 * - Timeouts (each aborts the upstream request): connect = until response headers (n8n: until the
 *   request is sent); first token = from the start of the attempt to the first delta; idle = the longest
 *   allowed gap between chunks after the first delta (time the consumer spends between reads is not counted).
 * - Breaker: each attempt is one call through the agent's breaker, recorded as a success at the first
 *   delta (or a clean end without any). A breaker that opens during the retries ends them.
 * - Outbound URLs (n8n webhook, gemini/openai baseUrl when set) pass assertSafeUpstreamUrl before
 *   every attempt; a refusal fails over without retry and without counting against the breaker.
 * - When every agent failed, the last agent's error is thrown (CIRCUIT_OPEN if it was skipped).
 * - The caller's abort cancels the upstream request and is rethrown as `signal.reason` (an AbortError
 *   unless the caller gave another reason); it never counts against a breaker.
 */
@Injectable()
export class LlmService {
  private readonly logger = new Logger(LlmService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly providers: LlmProviderRegistry,
    private readonly breakers: AgentBreakers,
    private readonly metrics: MetricsService,
  ) {}

  /** `options`: per-request overrides (temperature, max tokens, stop, tools), given to every agent of the chain. */
  async *stream(
    chain: LlmAgentConfig[],
    messages: LlmMessage[],
    signal: AbortSignal,
    options?: LlmRequestOptions,
  ): AsyncGenerator<LlmChunk> {
    let lastError: AppError = LlmErrors.noAgent();
    let failedProvider: string | null = null;
    for (const [index, agent] of chain.entries()) {
      signal.throwIfAborted();
      if (this.breakers.isOpen(agent)) {
        this.logger.warn(`agent ${agent.id}: circuit open, skipped`);
        lastError = LlmErrors.circuitOpen(agent, this.breakers.retryAfterSec(agent));
        failedProvider ??= agent.provider;
        continue;
      }
      if (failedProvider !== null) this.metrics.llmFallback(failedProvider);
      const verb = index === 0 ? 'Asking' : 'Falling back to';
      yield this.status(agent, `${verb} ${agent.name} (${agent.model})`);

      const opened = yield* this.open(agent, messages, signal, options);
      if ('error' in opened) {
        lastError = opened.error;
        failedProvider = agent.provider;
        continue;
      }
      yield* this.relay(opened, agent);
      return;
    }
    throw lastError;
  }

  /** Drains `stream`: the whole reply, its usage and the agent/model that produced it. */
  async complete(chain: LlmAgentConfig[], messages: LlmMessage[], signal: AbortSignal): Promise<LlmCompletion> {
    let content = '';
    let usage: LlmUsage | null = null;
    let agentId = chain[0]?.id ?? '';
    let model = chain[0]?.model ?? '';
    for await (const chunk of this.stream(chain, messages, signal)) {
      if (chunk.type === 'delta') content += chunk.content;
      else if (chunk.type === 'usage') usage = chunk.usage;
      else if (chunk.type === 'status' && !content) {
        agentId = chunk.agentId;
        model = chunk.model;
      }
    }
    return { content, usage, agentId, model };
  }

  /** Attempts one agent until a first delta (or a clean end), retrying what may be retried. */
  private async *open(
    agent: LlmAgentConfig,
    messages: LlmMessage[],
    signal: AbortSignal,
    options?: LlmRequestOptions,
  ): AsyncGenerator<LlmChunk, OpenResult> {
    const { maxAttempts, retryBaseMs } = this.config.llm;
    const provider = this.providers.get(agent.provider);
    if (!provider) return { error: classifyError(new UpstreamError('config', 'unknown provider'), agent).error };
    const policy = this.breakers.policy(agent);
    let last: AttemptFailure | null = null;
    for (let n = 1; ; n++) {
      const attempt = this.newAttempt(provider, agent, messages, signal, options);
      const startedAt = performance.now();
      try {
        const first = await policy.execute(() => attempt.open());
        if (!first.ended) this.metrics.llmFirstToken(agent.provider, secondsSince(startedAt));
        return { attempt, ...first, startedAt };
      } catch (err) {
        attempt.close();
        if (err instanceof CallerAbort) {
          this.metrics.llmDuration(agent.provider, secondsSince(startedAt), 'cancelled');
          throw err.reason;
        }
        if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) {
          this.logger.warn(`agent ${agent.id}: circuit opened during retries`);
          return { error: last?.error ?? LlmErrors.circuitOpen(agent, this.breakers.retryAfterSec(agent)) };
        }
        last = classifyError(err, agent);
        this.metrics.llmError(agent.provider, last.error.code);
        this.metrics.llmDuration(agent.provider, secondsSince(startedAt), 'error');
        this.logger.warn(`agent ${agent.id}: attempt ${n}/${maxAttempts} failed: ${last.error.code} (${last.summary})`);
        const delay = last.retryAfterMs ?? retryBaseMs * 2 ** (n - 1);
        if (!last.retryable || n >= maxAttempts || delay > MAX_RETRY_WAIT_MS) return { error: last.error };
        yield this.status(agent, `Retrying ${agent.name} (attempt ${n + 1} of ${maxAttempts})`);
        await abortableSleep(delay, signal);
      }
    }
  }

  /** Passes the opened stream on; after the first delta every failure is final. */
  private async *relay(opened: Opened, agent: LlmAgentConfig): AsyncGenerator<LlmChunk> {
    const { attempt } = opened;
    // 'cancelled' unless the stream ends or fails: a consumer that stops reading (return()) cancels it.
    let outcome: 'ok' | 'error' | 'cancelled' = 'cancelled';
    try {
      for (const chunk of opened.chunks) yield this.observe(chunk, agent);
      if (!opened.ended) {
        for (;;) {
          const r = await attempt.next();
          if (r.done) break;
          yield this.observe(r.value, agent);
        }
      }
      outcome = 'ok';
    } catch (err) {
      if (err instanceof CallerAbort) throw err.reason;
      const failure = classifyError(err, agent);
      outcome = 'error';
      this.metrics.llmError(agent.provider, failure.error.code);
      this.logger.warn(
        `agent ${agent.id}: stream failed after the first delta: ${failure.error.code} (${failure.summary})`,
      );
      throw failure.error;
    } finally {
      attempt.close();
      this.metrics.llmDuration(agent.provider, secondsSince(opened.startedAt), outcome);
    }
  }

  private observe(chunk: LlmChunk, agent: LlmAgentConfig): LlmChunk {
    if (chunk.type === 'usage') this.metrics.llmUsage(agent.provider, chunk.usage);
    return chunk;
  }

  private newAttempt(
    provider: LlmProvider,
    agent: LlmAgentConfig,
    messages: LlmMessage[],
    signal: AbortSignal,
    options?: LlmRequestOptions,
  ): UpstreamAttempt {
    const { connectTimeoutMs, firstTokenTimeoutMs, idleTimeoutMs, allowPrivateUpstreams } = this.config.llm;
    const url = agent.provider === 'n8n' ? agent.webhookUrl : agent.provider === 'mock' ? null : agent.baseUrl;
    const checkUrl = async (): Promise<void> => {
      if (url) await assertSafeUpstreamUrl(url, allowPrivateUpstreams);
    };
    const timeouts = { connectMs: connectTimeoutMs, firstTokenMs: firstTokenTimeoutMs, idleMs: idleTimeoutMs };
    return new UpstreamAttempt(provider, agent, messages, signal, timeouts, checkUrl, options);
  }

  private status(agent: LlmAgentConfig, description: string): LlmChunk {
    return { type: 'status', description, agentId: agent.id, model: agent.model };
  }
}
