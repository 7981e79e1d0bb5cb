import { randomBytes } from 'node:crypto';
import type * as GenAi from '@google/genai';
import type { Content, GenerateContentResponse, Part, ToolConfig } from '@google/genai';
import { Injectable } from '@nestjs/common';
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
  LlmUsage,
} from 'src/llm/llm.types';

const DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

/**
 * The SDK is loaded on the first Gemini request, not at boot: evaluating it was ~3 % of a boot's CPU and heap
 * (docs/performance.md), for a provider many deployments never call.
 */
let genAi: Promise<typeof GenAi> | undefined;
const loadGenAi = (): Promise<typeof GenAi> => (genAi ??= import('@google/genai'));

/**
 * Gemini through the official SDK (`@google/genai` 3.x): POST
 * `{baseUrl}/v1/models/{model}:streamGenerateContent?alt=sse` (the SDK's default API version since 3.0) with the key in `x-goog-api-key`.
 * Every option is passed explicitly so the SDK never falls back to environment variables; the SDK's own
 * retries and automatic continuation stay off (LlmService owns retries). A thin fetch wrapper keeps the
 * last response's headers so a 429's Retry-After can be honoured (the SDK's ApiError drops headers).
 */
@Injectable()
export class GeminiProvider implements LlmProvider {
  readonly name = 'gemini' as const;

  async *stream(
    agent: LlmAgentConfig,
    messages: LlmMessage[],
    signal: AbortSignal,
    hooks?: LlmStreamHooks,
    options: LlmRequestOptions = {},
  ): AsyncGenerator<LlmChunk> {
    if (!agent.secret) throw new UpstreamError('config', 'gemini: the agent has no API key');
    let lastHeaders: Headers | undefined;
    const { GoogleGenAI, FunctionCallingConfigMode } = await loadGenAi();
    const ai = new GoogleGenAI({
      vertexai: false,
      apiKey: agent.secret,
      httpOptions: {
        baseUrl: agent.baseUrl || DEFAULT_BASE_URL,
        fetch: async (input: string | URL | Request, init?: RequestInit) => {
          const res = await fetch(input, init);
          lastHeaders = res.headers;
          return res;
        },
      },
    });
    const { systemInstruction, contents } = toGeminiContents(agent, messages);

    let usage: LlmUsage | null = null;
    let calls = 0;
    let finish: LlmFinishReason | null = null;
    const tools = options.tools?.length
      ? [
          {
            functionDeclarations: options.tools.map((t) => ({
              name: t.name,
              description: t.description,
              parametersJsonSchema: t.parameters,
            })),
          },
        ]
      : undefined;
    try {
      const stream = await ai.models.generateContentStream({
        model: agent.model,
        contents,
        config: {
          systemInstruction,
          temperature: options.temperature ?? agent.config.temperature,
          maxOutputTokens: options.maxTokens ?? agent.config.maxTokens,
          ...(options.stop?.length ? { stopSequences: options.stop } : {}),
          ...(tools
            ? {
                tools,
                ...(options.toolChoice
                  ? { toolConfig: toGeminiToolConfig(options.toolChoice, FunctionCallingConfigMode) }
                  : {}),
              }
            : {}),
          abortSignal: signal,
          automaticContinuation: false,
        },
      });
      hooks?.onConnected?.();
      for await (const chunk of stream) {
        const text = textOf(chunk);
        if (text) yield { type: 'delta', content: text };
        // Gemini sends each function call whole: one tool_call piece per call.
        for (const p of chunk.candidates?.[0]?.content?.parts ?? []) {
          if (!p.functionCall?.name) continue;
          const id = p.functionCall.id || `call_${randomBytes(12).toString('base64url')}`;
          yield {
            type: 'tool_call',
            index: calls++,
            id,
            name: p.functionCall.name,
            arguments: JSON.stringify(p.functionCall.args ?? {}),
          };
        }
        finish = finishOf(chunk) ?? finish;
        usage = usageOf(chunk) ?? usage;
      }
    } catch (err) {
      throw mapGeminiError(err, lastHeaders);
    }
    signal.throwIfAborted();
    if (calls > 0 && finish === 'stop') finish = 'tool_calls';
    if (finish) yield { type: 'finish', reason: finish };
    if (usage) yield { type: 'usage', usage };
  }
}

const GEMINI_FINISH: Record<string, LlmFinishReason> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
};

function finishOf(chunk: GenerateContentResponse): LlmFinishReason | null {
  const r = chunk.candidates?.[0]?.finishReason;
  return r ? (GEMINI_FINISH[r] ?? 'stop') : null;
}

function toGeminiToolConfig(choice: LlmToolChoice, mode: typeof GenAi.FunctionCallingConfigMode): ToolConfig {
  if (choice === 'none') return { functionCallingConfig: { mode: mode.NONE } };
  if (choice === 'auto') return { functionCallingConfig: { mode: mode.AUTO } };
  if (choice === 'required') return { functionCallingConfig: { mode: mode.ANY } };
  return { functionCallingConfig: { mode: mode.ANY, allowedFunctionNames: [choice.name] } };
}

/** System prompt + system messages → systemInstruction; user → `user`, assistant → `model`. */
export function toGeminiContents(
  agent: LlmAgentConfig,
  messages: LlmMessage[],
): { systemInstruction?: string; contents: Content[] } {
  const system = [
    agent.systemPrompt ?? '',
    ...messages.filter((m) => m.role === 'system').map((m) => m.content),
  ].filter((s) => s.trim());
  const names = new Map<string, string>();
  const contents: Content[] = messages.filter((m) => m.role !== 'system').map((m) => toGeminiContent(m, names));
  return { systemInstruction: system.length ? system.join('\n\n') : undefined, contents };
}

/** One message as Gemini content; tool calls become functionCall parts, tool results functionResponse parts. */
function toGeminiContent(m: LlmMessage, names: Map<string, string>): Content {
  if (m.role === 'tool') {
    let response: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(m.content);
      response =
        parsed && typeof parsed === 'object' && !Array.isArray(parsed)
          ? (parsed as Record<string, unknown>)
          : { result: parsed };
    } catch {
      response = { result: m.content };
    }
    return {
      role: 'user',
      parts: [{ functionResponse: { id: m.toolCallId, name: names.get(m.toolCallId ?? '') ?? 'tool', response } }],
    };
  }
  if (m.role === 'assistant') {
    const parts: Part[] = m.content ? [{ text: m.content }] : [];
    for (const c of m.toolCalls ?? []) {
      names.set(c.id, c.name);
      let args: Record<string, unknown>;
      try {
        args = JSON.parse(c.arguments || '{}') as Record<string, unknown>;
      } catch {
        args = {};
      }
      parts.push({ functionCall: { id: c.id, name: c.name, args } });
    }
    return { role: 'model', parts: parts.length ? parts : [{ text: '' }] };
  }
  return { role: 'user', parts: [{ text: m.content }] };
}

/** Text parts of the first candidate, without "thought" parts. */
function textOf(chunk: GenerateContentResponse): string {
  const parts = chunk.candidates?.[0]?.content?.parts ?? [];
  return parts
    .filter((p) => typeof p.text === 'string' && !p.thought)
    .map((p) => p.text)
    .join('');
}

/** usageMetadata is cumulative; the last one seen is the answer's usage. */
function usageOf(chunk: GenerateContentResponse): LlmUsage | null {
  const u = chunk.usageMetadata;
  if (!u) return null;
  const completion = (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0);
  return { promptTokens: u.promptTokenCount ?? 0, completionTokens: completion };
}

function mapGeminiError(err: unknown, headers: Headers | undefined): unknown {
  if (typeof err !== 'object' || err === null) return err;
  const e = err as { name?: string; message?: string; status?: number };
  if (e.name === 'ApiError') {
    const status = e.status;
    return new UpstreamError('http', `gemini: HTTP ${status}`, {
      status,
      retryAfterMs: parseRetryAfterMs(headers),
      cause: err,
    });
  }
  if (typeof e.message === 'string' && /exception parsing stream chunk|Incomplete JSON segment/i.test(e.message)) {
    return new UpstreamError('protocol', 'gemini: malformed stream chunk', { cause: err });
  }
  return err;
}
