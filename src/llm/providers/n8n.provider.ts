import { Injectable } from '@nestjs/common';
import { parseRetryAfterMs, UpstreamError } from 'src/llm/llm.errors';
import {
  LlmAgentConfig,
  LlmChunk,
  LlmMessage,
  LlmProvider,
  LlmRequestOptions,
  LlmStreamHooks,
  LlmUsage,
} from 'src/llm/llm.types';
import { readLines, readSseEvents, readText } from 'src/llm/stream-readers';

const NDJSON_TYPES = new Set(['begin', 'item', 'end', 'error']);

/**
 * An n8n workflow behind a webhook: POST `{ messages, system_prompt, config }` with
 * `Authorization: Bearer <webhook token>`. The reply is recognised by content type and shape:
 * - `text/event-stream`: `data: {"content": "..."}` events, until `data: [DONE]` or the end;
 * - n8n streaming: newline-delimited `{"type":"begin"|"item"|"end"|"error","content":...}` objects;
 * - plain JSON: `{"content"}`, `{"output"}`, `{"text"}`, or an array of those (joined), or a JSON string;
 * - `text/plain`: the whole body is the answer.
 * `usage` (`{promptTokens, completionTokens}` or `{prompt_tokens, completion_tokens}`) is reported when present.
 * n8n sends headers only when the workflow answers, so the connect phase ends when the request is sent.
 */
@Injectable()
export class N8nProvider implements LlmProvider {
  readonly name = 'n8n' as const;

  async *stream(
    agent: LlmAgentConfig,
    messages: LlmMessage[],
    signal: AbortSignal,
    hooks?: LlmStreamHooks,
    options: LlmRequestOptions = {},
  ): AsyncGenerator<LlmChunk> {
    if (!agent.webhookUrl) throw new UpstreamError('config', 'n8n: the agent has no webhook URL');
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'text/event-stream, application/x-ndjson, application/json, text/plain',
    };
    if (agent.secret) headers.authorization = `Bearer ${agent.secret}`;
    const body = JSON.stringify({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      system_prompt: agent.systemPrompt ?? null,
      config: { model: agent.model, ...agent.config },
      // Only when the caller (the /v1 API) gave tools: the workflow may call them back (see chunksOf).
      ...(options.tools?.length ? { tools: options.tools } : {}),
    });

    hooks?.onConnected?.();
    const res = await fetch(agent.webhookUrl, { method: 'POST', headers, body, signal });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new UpstreamError('http', `n8n: HTTP ${res.status}`, {
        status: res.status,
        retryAfterMs: parseRetryAfterMs(res.headers),
      });
    }
    if (!res.body) return;
    const contentType = (res.headers.get('content-type') ?? '').toLowerCase();
    const lines = readLines(readText(res.body));
    const ctx: ChunkContext = { calls: 0 };
    if (contentType.includes('text/event-stream')) yield* readSse(lines, ctx);
    else yield* readNdjsonOrJson(lines, contentType, ctx);
    signal.throwIfAborted();
  }
}

/** Numbers the tool calls of one response. */
interface ChunkContext {
  calls: number;
}

async function* readSse(lines: AsyncIterable<string>, ctx: ChunkContext): AsyncGenerator<LlmChunk> {
  for await (const event of readSseEvents(lines)) {
    if (event.data.trim() === '[DONE]') return;
    yield* chunksOf(parseJson(event.data), 'stream', ctx);
  }
}

/** Decides on the first non-empty line: an n8n streaming object starts NDJSON mode, anything else is one JSON body. */
async function* readNdjsonOrJson(
  lines: AsyncIterable<string>,
  contentType: string,
  ctx: ChunkContext,
): AsyncGenerator<LlmChunk> {
  let mode: 'unknown' | 'ndjson' | 'whole' = 'unknown';
  const whole: string[] = [];
  for await (const line of lines) {
    if (mode === 'whole') {
      whole.push(line);
      continue;
    }
    if (!line.trim()) continue;
    if (mode === 'unknown') {
      const first = tryJson(line);
      if (isObject(first) && typeof first.type === 'string' && NDJSON_TYPES.has(first.type)) {
        mode = 'ndjson';
      } else {
        mode = 'whole';
        whole.push(line);
        continue;
      }
    }
    const obj = parseJson(line);
    if (isObject(obj) && obj.type === 'begin') continue;
    yield* chunksOf(obj, 'stream', ctx);
    if (isObject(obj) && obj.type === 'end') return;
  }
  if (mode === 'whole') yield* wholeBody(whole.join('\n'), contentType, ctx);
}

function* wholeBody(text: string, contentType: string, ctx: ChunkContext): Generator<LlmChunk> {
  const parsed = tryJson(text);
  if (parsed === undefined) {
    if (contentType.startsWith('text/plain') || contentType === '') {
      if (text) yield { type: 'delta', content: text };
      return;
    }
    throw new UpstreamError('protocol', 'n8n: the response is not valid JSON');
  }
  yield* chunksOf(parsed, 'whole', ctx);
}

/** Deltas (and usage) carried by one parsed object; `whole` also accepts arrays and bare strings. */
function* chunksOf(value: unknown, shape: 'stream' | 'whole', ctx: ChunkContext): Generator<LlmChunk> {
  if (shape === 'whole' && typeof value === 'string') {
    if (value) yield { type: 'delta', content: value };
    return;
  }
  if (shape === 'whole' && Array.isArray(value)) {
    for (const item of value) yield* chunksOf(item, 'stream', ctx);
    return;
  }
  if (!isObject(value)) throw new UpstreamError('protocol', 'n8n: unexpected chunk shape');
  if (value.type === 'error') throw new UpstreamError('http', 'n8n: the workflow reported an error');
  const text = [value.content, value.output, value.text].find((v): v is string => typeof v === 'string');
  const usage = usageOf(value.usage);
  const calls = toolCallsOf(value.tool_calls ?? value.toolCalls);
  if (text === undefined && !usage && !calls.length && shape === 'whole')
    throw new UpstreamError('protocol', 'n8n: no content in the response');
  if (text) yield { type: 'delta', content: text };
  // Tool calls, when the workflow sends them: `tool_calls` / `toolCalls` items, OpenAI-shaped
  // (`{id, function: {name, arguments}}`) or flat (`{id, name, arguments | args}`); each passes through whole.
  for (const c of calls) yield { type: 'tool_call', index: ctx.calls++, ...c };
  if (usage) yield { type: 'usage', usage };
}

function toolCallsOf(v: unknown): Array<{ id: string; name: string; arguments: string }> {
  if (!Array.isArray(v)) return [];
  return v.filter(isObject).flatMap((c) => {
    const fn = isObject(c.function) ? c.function : c;
    if (typeof fn.name !== 'string') return [];
    const args = fn.arguments ?? fn.args ?? {};
    return [
      {
        id: typeof c.id === 'string' ? c.id : `call_${Math.random().toString(36).slice(2, 12)}`,
        name: fn.name,
        arguments: typeof args === 'string' ? args : JSON.stringify(args),
      },
    ];
  });
}

function usageOf(u: unknown): LlmUsage | null {
  if (!isObject(u)) return null;
  const prompt = u.promptTokens ?? u.prompt_tokens;
  const completion = u.completionTokens ?? u.completion_tokens;
  if (typeof prompt !== 'number' && typeof completion !== 'number') return null;
  return {
    promptTokens: typeof prompt === 'number' ? prompt : 0,
    completionTokens: typeof completion === 'number' ? completion : 0,
  };
}

function parseJson(text: string): unknown {
  const value = tryJson(text);
  if (value === undefined) throw new UpstreamError('protocol', 'n8n: malformed chunk');
  return value;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
