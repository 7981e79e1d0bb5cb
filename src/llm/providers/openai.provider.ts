import http, { IncomingMessage } from 'node:http';
import https from 'node:https';
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
 * The stream is read with node:http and `eventsource-parser` rather than the SDK's client (issue 18): in
 * a profile of 200 concurrent replies the SDK's web-stream pipeline (its line decoder, SSE decoder and async
 * iterators over ReadableStreams, one chain per chunk) was ~18 % of the service's CPU; this path feeds each
 * network chunk to one callback parser and parses each event's JSON once. fetch (undici) was the next step
 * and still cost a web ReadableStream per response and a pull per chunk (`bench/parse.ts` compares the two);
 * node:http (keep-alive global agents) hands each chunk to the parser directly. What the SDK added here is kept:
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
    const { res, detach } = await post(
      `${(agent.baseUrl || DEFAULT_BASE_URL).replace(/\/+$/, '')}/chat/completions`,
      {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Bearer ${agent.secret || 'not-set'}`,
      },
      JSON.stringify(body),
      signal,
    );
    const headers = headerBag(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      detach();
      res.destroy();
      throw new UpstreamError('http', `openai: HTTP ${status}`, {
        status,
        retryAfterMs: parseRetryAfterMs(headers),
      });
    }
    hooks?.onConnected?.();
    const events: string[] = [];
    let done = false;
    const parser = createParser({
      onEvent: (e) => {
        if (done) return;
        if (e.data === '[DONE]') done = true;
        else events.push(e.data);
      },
    });
    res.setEncoding('utf8');
    try {
      // Not destroyed when the loop breaks at [DONE]: the rest (the chunked terminator) is read, so the
      // keep-alive connection goes back to the agent (see `release`).
      for await (const text of res.iterator({ destroyOnReturn: false }) as AsyncIterable<string>) {
        parser.feed(text);
        for (const data of events.splice(0)) yield* chunksOf(JSON.parse(data) as OpenAiChunk, headers);
        if (done) break;
      }
      if (!done) {
        parser.reset({ consume: true });
        for (const data of events.splice(0)) yield* chunksOf(JSON.parse(data) as OpenAiChunk, headers);
      }
    } finally {
      detach();
      release(res, done);
    }
    signal.throwIfAborted();
  }
}

/**
 * POSTs `body` and resolves with the response once its status and headers arrived (the global agents keep
 * connections alive, as fetch's did). The signal aborts the request, or the response's body while it
 * streams: reads then fail, as fetch's did. `detach` ends that once the stream is over. (Not node:http's own
 * `signal` option: it stays on the socket, and an abort after the reply destroyed the pooled connection.)
 */
interface Upstream {
  res: IncomingMessage;
  detach: () => void;
}

function post(url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const target = new URL(url);
    const transport = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : null;
    if (!transport) return reject(new TypeError(`fetch failed: unsupported protocol ${target.protocol}`));
    const onAbort = (): void => void req.destroy(abortError(signal));
    let attached = true;
    const detach = (): void => {
      // Once: removing a listener from an AbortSignal showed in profiles (~1 % at 200 streams).
      if (!attached) return;
      attached = false;
      signal.removeEventListener('abort', onAbort);
    };
    const req = transport.request(
      target,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        // A read sees the body's errors through its iterator.
        res.on('error', () => undefined);
        resolve({ res, detach });
      },
    );
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('close', detach);
    req.on('error', reject);
    req.end(body);
  });
}

const abortError = (signal: AbortSignal): DOMException & { cause?: unknown } =>
  Object.assign(new DOMException('The operation was aborted', 'AbortError'), { cause: signal.reason as unknown });

/**
 * After the stream: a response read to its end leaves its connection to the agent; one that ended at
 * [DONE] has its last bytes read (for at most a second) so that its connection is kept too; anything else
 * (an error, a consumer that stopped reading, an abort) closes the connection.
 */
function release(res: IncomingMessage, done: boolean): void {
  if (res.complete || res.destroyed) return;
  if (!done) {
    res.destroy();
    return;
  }
  const timer = setTimeout(() => res.destroy(), 1000);
  res.once('close', () => clearTimeout(timer));
  res.resume();
}

/** Response headers as the `get(name)` that parseRetryAfterMs reads. */
function headerBag(res: IncomingMessage): { get(name: string): string | null } {
  return {
    get: (name) => {
      const v = res.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : (v ?? null);
    },
  };
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

function* chunksOf(chunk: OpenAiChunk, headers: { get(name: string): string | null }): Generator<LlmChunk> {
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
