import { Inject, Injectable } from '@nestjs/common';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionToolChoiceOption, ChatCompletionTool } from 'openai/resources/chat/completions';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { parseRetryAfterMs, UpstreamError } from 'src/llm/llm.errors';
import { LlmAgentConfig, LlmChunk, LlmFinishReason, LlmMessage, LlmProvider, LlmRequestOptions, LlmStreamHooks, LlmToolChoice, LlmToolDefinition } from 'src/llm/llm.types';

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

  async *stream(agent: LlmAgentConfig, messages: LlmMessage[], signal: AbortSignal, hooks?: LlmStreamHooks, options: LlmRequestOptions = {}): AsyncGenerator<LlmChunk> {
    const client = new OpenAI({
      apiKey: agent.secret || 'not-set',
      baseURL: agent.baseUrl || DEFAULT_BASE_URL,
      organization: null,
      project: null,
      maxRetries: 0,
      timeout: this.config.llm.connectTimeoutMs + this.config.llm.firstTokenTimeoutMs,
      logLevel: 'off',
    });
    const temperature = options.temperature ?? agent.config.temperature;
    const maxTokens = options.maxTokens ?? agent.config.maxTokens;
    try {
      const stream = await client.chat.completions.create(
        {
          model: agent.model,
          messages: toOpenAiMessages(agent, messages),
          stream: true,
          stream_options: { include_usage: true },
          ...(temperature !== undefined ? { temperature } : {}),
          ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}),
          ...(options.stop?.length ? { stop: options.stop } : {}),
          ...(options.tools?.length ? { tools: options.tools.map(toOpenAiTool) } : {}),
          ...(options.tools?.length && options.toolChoice ? { tool_choice: toOpenAiToolChoice(options.toolChoice) } : {}),
        },
        { signal },
      );
      hooks?.onConnected?.();
      for await (const chunk of stream) {
        const choice = chunk.choices?.[0];
        const text = choice?.delta?.content;
        if (text) yield { type: 'delta', content: text };
        for (const call of choice?.delta?.tool_calls ?? []) {
          yield { type: 'tool_call', index: call.index, id: call.id ?? undefined, name: call.function?.name ?? undefined, arguments: call.function?.arguments ?? '' };
        }
        if (choice?.finish_reason && FINISH_REASONS.has(choice.finish_reason)) yield { type: 'finish', reason: choice.finish_reason as LlmFinishReason };
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

const FINISH_REASONS = new Set(['stop', 'length', 'tool_calls', 'content_filter']);

/** The agent's system prompt first, then the conversation as it is (tool calls and results included). */
export function toOpenAiMessages(agent: LlmAgentConfig, messages: LlmMessage[]): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  if (agent.systemPrompt?.trim()) out.push({ role: 'system', content: agent.systemPrompt });
  for (const m of messages) {
    if (m.role === 'tool') out.push({ role: 'tool', content: m.content, tool_call_id: m.toolCallId ?? '' });
    else if (m.role === 'assistant' && m.toolCalls?.length) {
      out.push({
        role: 'assistant',
        content: m.content || null,
        tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
      });
    } else out.push({ role: m.role, content: m.content });
  }
  return out;
}

function toOpenAiTool(t: LlmToolDefinition): ChatCompletionTool {
  return {
    type: 'function',
    function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), ...(t.parameters ? { parameters: t.parameters } : {}) },
  };
}

function toOpenAiToolChoice(c: LlmToolChoice): ChatCompletionToolChoiceOption {
  return typeof c === 'string' ? c : { type: 'function', function: { name: c.name } };
}

function mapOpenAiError(err: unknown): unknown {
  if (err instanceof APIUserAbortError) return err;
  if (err instanceof APIConnectionTimeoutError) return new UpstreamError('timeout', 'openai: request timed out', { cause: err });
  if (err instanceof APIConnectionError) return new UpstreamError('connection', 'openai: connection failed', { cause: err });
  if (err instanceof APIError) {
    // No status: the server sent an `error` object inside the stream.
    return new UpstreamError('http', `openai: HTTP ${err.status ?? 'stream error'}`, {
      status: err.status as number | undefined,
      retryAfterMs: parseRetryAfterMs(err.headers as Headers | undefined),
      cause: err,
    });
  }
  return err;
}
