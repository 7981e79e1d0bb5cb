import { Inject, Injectable } from '@nestjs/common';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { parseRetryAfterMs, UpstreamError } from 'src/llm/llm.errors';
import { LlmAgentConfig, LlmChunk, LlmMessage, LlmProvider, LlmStreamHooks } from 'src/llm/llm.types';

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * Any OpenAI-compatible server (OpenAI, a LiteLLM proxy, OpenRouter, vLLM, Ollama) through the official
 * SDK: `chat.completions.create({ stream: true, stream_options: { include_usage: true } })`.
 * Options are explicit so the SDK reads no environment variables; its retries are off (LlmService owns
 * them) and its logging is off (it would print raw chunks). A server without auth gets a placeholder key.
 */
@Injectable()
export class OpenAiProvider implements LlmProvider {
  readonly name = 'openai' as const;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async *stream(agent: LlmAgentConfig, messages: LlmMessage[], signal: AbortSignal, hooks?: LlmStreamHooks): AsyncGenerator<LlmChunk> {
    const client = new OpenAI({
      apiKey: agent.secret || 'not-set',
      baseURL: agent.baseUrl || DEFAULT_BASE_URL,
      organization: null,
      project: null,
      maxRetries: 0,
      timeout: this.config.llm.connectTimeoutMs + this.config.llm.firstTokenTimeoutMs,
      logLevel: 'off',
    });
    try {
      const stream = await client.chat.completions.create(
        {
          model: agent.model,
          messages: toOpenAiMessages(agent, messages),
          stream: true,
          stream_options: { include_usage: true },
          ...(agent.config.temperature !== undefined ? { temperature: agent.config.temperature } : {}),
          ...(agent.config.maxTokens !== undefined ? { max_tokens: agent.config.maxTokens } : {}),
        },
        { signal },
      );
      hooks?.onConnected?.();
      for await (const chunk of stream) {
        const text = chunk.choices?.[0]?.delta?.content;
        if (text) yield { type: 'delta', content: text };
        if (chunk.usage) {
          yield { type: 'usage', usage: { promptTokens: chunk.usage.prompt_tokens ?? 0, completionTokens: chunk.usage.completion_tokens ?? 0 } };
        }
      }
    } catch (err) {
      throw mapOpenAiError(err);
    }
    // The SDK ends the iteration silently when its request is aborted: make the abort visible.
    signal.throwIfAborted();
  }
}

/** The agent's system prompt first, then the conversation as it is. */
export function toOpenAiMessages(agent: LlmAgentConfig, messages: LlmMessage[]): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  if (agent.systemPrompt?.trim()) out.push({ role: 'system', content: agent.systemPrompt });
  for (const m of messages) out.push({ role: m.role, content: m.content });
  return out;
}

function mapOpenAiError(err: unknown): unknown {
  if (err instanceof APIUserAbortError) return err;
  if (err instanceof APIConnectionTimeoutError) return new UpstreamError('timeout', 'openai: request timed out', { cause: err });
  if (err instanceof APIConnectionError) return new UpstreamError('connection', 'openai: connection failed', { cause: err });
  if (err instanceof APIError) {
    // No status: the server sent an `error` object inside the stream.
    return new UpstreamError('http', `openai: HTTP ${err.status ?? 'stream error'}`, {
      status: err.status,
      retryAfterMs: parseRetryAfterMs(err.headers),
      cause: err,
    });
  }
  return err;
}
