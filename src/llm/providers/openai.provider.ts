import { Injectable } from '@nestjs/common';
import { createParser } from 'eventsource-parser';
import type {
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { parseRetryAfterMs, UpstreamError } from 'src/llm/llm.errors';
import {
  LlmAgentConfig,
  LlmChunk,
  LlmFinishReason,
  LlmMessage,
  LlmProvider,
  LlmRequestOptions,
  LlmStreamHooks,
  LlmToolChoice,
  LlmToolDefinition,
} from 'src/llm/llm.types';

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * Any OpenAI-compatible server (OpenAI, a LiteLLM proxy, OpenRouter, vLLM, Ollama): `POST {baseUrl}/chat/completions`
 * with `stream: true, stream_options: { include_usage: true }`, the request body typed by the official SDK.
 *
 * The stream is read with fetch (undici) and `eventsource-parser` rather than the SDK's client (issue 18): in
 * a profile of 200 concurrent replies the SDK's web-stream pipeline (its line decoder, SSE decoder and async
 * iterators over ReadableStreams, one chain per chunk) was ~18 % of the service's CPU; this path feeds each
 * network chunk to one callback parser and parses each event's JSON once. What the SDK added here is kept:
 * the same URL, headers and body, its error mapping (HTTP status and Retry-After to UpstreamError, an `error`
 * object inside the stream to an HTTP error without status, invalid JSON a protocol error). Its retries
 * and timeouts were off (LlmService and UpstreamAttempt own them: the signal aborts the request).
 * A server without auth gets a placeholder key.
 */
@Injectable()
export class OpenAiProvider implements LlmProvider {
  readonly name = 'openai' as const;

  async *stream(
    agent: LlmAgentConfig,
    messages: LlmMessage[],
    signal: AbortSignal,
    hooks?: LlmStreamHooks,
    options: LlmRequestOptions = {},
  ): AsyncGenerator<LlmChunk> {
    const temperature = options.temperature ?? agent.config.temperature;
    const maxTokens = options.maxTokens ?? agent.config.maxTokens;
    const body: ChatCompletionCreateParamsStreaming = {
      model: agent.model,
      messages: toOpenAiMessages(agent, messages),
      stream: true,
      stream_options: { include_usage: true },
      ...(temperature !== undefined ? { temperature } : {}),
      ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}),
      ...(options.stop?.length ? { stop: options.stop } : {}),
      ...(options.tools?.length ? { tools: options.tools.map(toOpenAiTool) } : {}),
      ...(options.tools?.length && options.toolChoice ? { tool_choice: toOpenAiToolChoice(options.toolChoice) } : {}),
    };
    const res = await fetch(`${(agent.baseUrl || DEFAULT_BASE_URL).replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Bearer ${agent.secret || 'not-set'}`,
      },
      body: JSON.stringify(body),
      signal,
    });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new UpstreamError('http', `openai: HTTP ${res.status}`, {
        status: res.status,
        retryAfterMs: parseRetryAfterMs(res.headers),
      });
    }
    hooks?.onConnected?.();
    if (!res.body) return;
    const events: string[] = [];
    let done = false;
    const parser = createParser({
      onEvent: (e) => {
        if (done) return;
        if (e.data === '[DONE]') done = true;
        else events.push(e.data);
      },
    });
    const decoder = new TextDecoder();
    for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(bytes, { stream: true }));
      for (const data of events.splice(0)) yield* chunksOf(JSON.parse(data) as OpenAiChunk, res.headers);
      if (done) break;
    }
    if (!done) {
      parser.feed(decoder.decode());
      parser.reset({ consume: true });
      for (const data of events.splice(0)) yield* chunksOf(JSON.parse(data) as OpenAiChunk, res.headers);
    }
    await res.body.cancel().catch(() => undefined);
    signal.throwIfAborted();
  }
}

/** The parts of a `chat.completion.chunk` read here (or an `error` object sent inside the stream). */
interface OpenAiChunk {
  choices?: {
    delta?: {
      content?: string | null;
      tool_calls?:
        { index: number; id?: string | null; function?: { name?: string | null; arguments?: string | null } }[] | null;
    };
    finish_reason?: string | null;
  }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: unknown;
}

function* chunksOf(chunk: OpenAiChunk, headers: Headers): Generator<LlmChunk> {
  // The server sent an `error` object inside the stream: an HTTP error without a status (as the SDK maps it).
  if (chunk.error)
    throw new UpstreamError('http', 'openai: HTTP stream error', { retryAfterMs: parseRetryAfterMs(headers) });
  const choice = chunk.choices?.[0];
  const text = choice?.delta?.content;
  if (text) yield { type: 'delta', content: text };
  for (const call of choice?.delta?.tool_calls ?? []) {
    yield {
      type: 'tool_call',
      index: call.index,
      id: call.id ?? undefined,
      name: call.function?.name ?? undefined,
      arguments: call.function?.arguments ?? '',
    };
  }
  if (choice?.finish_reason && FINISH_REASONS.has(choice.finish_reason))
    yield { type: 'finish', reason: choice.finish_reason as LlmFinishReason };
  if (chunk.usage)
    yield {
      type: 'usage',
      usage: { promptTokens: chunk.usage.prompt_tokens ?? 0, completionTokens: chunk.usage.completion_tokens ?? 0 },
    };
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
        tool_calls: m.toolCalls.map((c) => ({
          id: c.id,
          type: 'function' as const,
          function: { name: c.name, arguments: c.arguments },
        })),
      });
    } else out.push({ role: m.role, content: m.content });
  }
  return out;
}

function toOpenAiTool(t: LlmToolDefinition): ChatCompletionTool {
  return {
    type: 'function',
    function: {
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      ...(t.parameters ? { parameters: t.parameters } : {}),
    },
  };
}

function toOpenAiToolChoice(c: LlmToolChoice): ChatCompletionToolChoiceOption {
  return typeof c === 'string' ? c : { type: 'function', function: { name: c.name } };
}
