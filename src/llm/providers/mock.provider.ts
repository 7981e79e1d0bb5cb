import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { abortableSleep, untilAborted } from 'src/llm/abortable-sleep';
import { UpstreamError } from 'src/llm/llm.errors';
import { LlmAgentConfig, LlmChunk, LlmMessage, LlmProvider, LlmStreamHooks } from 'src/llm/llm.types';

/**
 * Deterministic, offline provider for development, tests and benchmarks.
 *
 * The reply is built from the last user message: "Here is a short answer about <keywords>. …", split
 * into word pieces and cycled until `mockDeltas` deltas were sent, `mockDelayMs` apart (the first one
 * after `mockFirstTokenDelayMs`). Usage is estimated as ceil(chars / 4). Abort is honoured at once.
 *
 * Knobs in `agent.config` (all optional):
 * - `mockDeltas`, `mockDelayMs`: override MOCK_LLM_DELTAS / MOCK_LLM_DELAY_MS.
 * - `mockFirstTokenDelayMs`: delay before the first delta (default: mockDelayMs).
 * - `mockContent`: reply exactly this text (split into words, sent once; mockDeltas is ignored).
 * - `mockError`: fail before the first delta: 'server' (HTTP 500), 'rate_limit' (429), 'auth' (401),
 *   'bad_request' (400), 'connection', 'malformed', or 'timeout' (never answers; the first-token
 *   timeout fires).
 * - `mockRetryAfterMs`: Retry-After carried by 'rate_limit'.
 * - `mockErrorTimes`: only the first N calls for this agent id fail with mockError, later ones succeed.
 * - `mockFailAfter`: after N deltas the stream breaks (a connection error).
 * - `mockStallAfter`: after N deltas nothing more is sent until aborted (the idle timeout fires).
 *
 * A feature whose prompts expect a shaped answer registers a script (`addScript`): for a conversation the
 * script recognises, its text is the reply (sent in `mockDeltas` deltas, so the timing is the same).
 */
@Injectable()
export class MockProvider implements LlmProvider {
  readonly name = 'mock' as const;
  private readonly errorCounts = new Map<string, number>();
  private readonly scripts: MockScript[] = [];

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Adds a scripted reply (first script that answers wins; the default answer otherwise). */
  addScript(script: MockScript): void {
    if (!this.scripts.includes(script)) this.scripts.push(script);
  }

  async *stream(
    agent: LlmAgentConfig,
    messages: LlmMessage[],
    signal: AbortSignal,
    hooks?: LlmStreamHooks,
  ): AsyncGenerator<LlmChunk> {
    const c = agent.config;
    signal.throwIfAborted();
    hooks?.onConnected?.();
    await this.maybeFail(agent, signal);

    const { pieces, count } = this.reply(agent, messages);
    const delayMs = num(c.mockDelayMs, this.config.llm.mockDelayMs);
    const firstDelayMs = num(c.mockFirstTokenDelayMs, delayMs);
    const failAfter = optionalNum(c.mockFailAfter);
    const stallAfter = optionalNum(c.mockStallAfter);

    let sent = '';
    for (let i = 0; i < count; i++) {
      if (i === failAfter) throw new UpstreamError('connection', 'mock: stream broken (mockFailAfter)');
      if (i === stallAfter) await untilAborted(signal);
      const wait = i === 0 ? firstDelayMs : delayMs;
      if (wait > 0) await abortableSleep(wait, signal);
      signal.throwIfAborted();
      const piece = pieces.length ? pieces[i % pieces.length] : '';
      sent += piece;
      yield { type: 'delta', content: piece };
    }
    if (count === failAfter) throw new UpstreamError('connection', 'mock: stream broken (mockFailAfter)');
    if (count === stallAfter) await untilAborted(signal);
    const prompt = (agent.systemPrompt ?? '') + messages.map((m) => m.content).join('');
    yield { type: 'usage', usage: { promptTokens: estimateTokens(prompt), completionTokens: estimateTokens(sent) } };
  }

  /** The reply's pieces and how many deltas to send (pieces are cycled when there are fewer). */
  private reply(agent: LlmAgentConfig, messages: LlmMessage[]): { pieces: string[]; count: number } {
    const c = agent.config;
    const deltas = num(c.mockDeltas, this.config.llm.mockDeltas);
    const scripted = this.scripts.reduce<string | null>((found, script) => found ?? script(messages), null);
    if (scripted !== null) return { pieces: splitEven(scripted, deltas), count: deltas };
    if (typeof c.mockContent === 'string') {
      const pieces = splitWords(c.mockContent);
      return { pieces, count: pieces.length };
    }
    return { pieces: splitWords(mockAnswer(messages)), count: deltas };
  }

  private async maybeFail(agent: LlmAgentConfig, signal: AbortSignal): Promise<void> {
    const kind = agent.config.mockError;
    if (typeof kind !== 'string' || !kind) return;
    const times = optionalNum(agent.config.mockErrorTimes);
    const count = this.errorCounts.get(agent.id) ?? 0;
    if (times !== undefined && count >= times) return;
    this.errorCounts.set(agent.id, count + 1);
    switch (kind) {
      case 'timeout':
        await untilAborted(signal);
        return;
      case 'rate_limit':
        throw new UpstreamError('http', 'mock: rate limited', {
          status: 429,
          retryAfterMs: optionalNum(agent.config.mockRetryAfterMs),
        });
      case 'auth':
        throw new UpstreamError('http', 'mock: unauthorized', { status: 401 });
      case 'bad_request':
        throw new UpstreamError('http', 'mock: bad request', { status: 400 });
      case 'connection':
        throw new UpstreamError('connection', 'mock: connection refused');
      case 'malformed':
        throw new UpstreamError('protocol', 'mock: malformed chunk');
      default:
        throw new UpstreamError('http', 'mock: server error', { status: 500 });
    }
  }
}

const STOP_WORDS = new Set([
  'what',
  'when',
  'where',
  'which',
  'with',
  'that',
  'this',
  'there',
  'their',
  'about',
  'would',
  'could',
  'should',
  'please',
  'tell',
  'have',
  'from',
  'into',
  'your',
  'does',
  'explain',
]);

/** The deterministic reply for a conversation: a short answer naming up to four keywords of the last user message. */
export function mockAnswer(messages: LlmMessage[]): string {
  const last = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const words = last.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const keywords = [...new Set(words.filter((w) => w.length > 3 && !STOP_WORDS.has(w)))].slice(0, 4);
  const topic = keywords.length ? keywords.join(', ') : 'your question';
  return `Here is a short answer about ${topic}. The mock model writes the same reply for the same prompt, so tests and benchmarks can rely on it. `;
}

/** A scripted reply for the conversation, or null when the script does not recognise it. */
export type MockScript = (messages: LlmMessage[]) => string | null;

/** `count` pieces (code points, in order) that concatenate back to the text. */
function splitEven(text: string, count: number): string[] {
  const chars = Array.from(text);
  const size = Math.ceil(chars.length / Math.max(1, count));
  return Array.from({ length: count }, (_, i) => chars.slice(i * size, (i + 1) * size).join(''));
}

/** Word pieces that concatenate back to the text ("Here ", "is ", …). */
function splitWords(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;
}

function optionalNum(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
}
