import { Content, GenerateContentResponse, GoogleGenAI } from '@google/genai';
import { Injectable } from '@nestjs/common';
import { parseRetryAfterMs, UpstreamError } from 'src/llm/llm.errors';
import { LlmAgentConfig, LlmChunk, LlmMessage, LlmProvider, LlmStreamHooks, LlmUsage } from 'src/llm/llm.types';

const DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

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

  async *stream(agent: LlmAgentConfig, messages: LlmMessage[], signal: AbortSignal, hooks?: LlmStreamHooks): AsyncGenerator<LlmChunk> {
    if (!agent.secret) throw new UpstreamError('config', 'gemini: the agent has no API key');
    let lastHeaders: Headers | undefined;
    const ai = new GoogleGenAI({
      vertexai: false,
      apiKey: agent.secret,
      httpOptions: {
        baseUrl: agent.baseUrl || DEFAULT_BASE_URL,
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          lastHeaders = res.headers;
          return res;
        },
      },
    });
    const { systemInstruction, contents } = toGeminiContents(agent, messages);

    let usage: LlmUsage | null = null;
    try {
      const stream = await ai.models.generateContentStream({
        model: agent.model,
        contents,
        config: {
          systemInstruction,
          temperature: agent.config.temperature,
          maxOutputTokens: agent.config.maxTokens,
          abortSignal: signal,
          automaticContinuation: false,
        },
      });
      hooks?.onConnected?.();
      for await (const chunk of stream) {
        const text = textOf(chunk);
        if (text) yield { type: 'delta', content: text };
        usage = usageOf(chunk) ?? usage;
      }
    } catch (err) {
      throw mapGeminiError(err, lastHeaders);
    }
    signal.throwIfAborted();
    if (usage) yield { type: 'usage', usage };
  }
}

/** System prompt + system messages → systemInstruction; user → `user`, assistant → `model`. */
export function toGeminiContents(agent: LlmAgentConfig, messages: LlmMessage[]): { systemInstruction?: string; contents: Content[] } {
  const system = [agent.systemPrompt ?? '', ...messages.filter((m) => m.role === 'system').map((m) => m.content)].filter((s) => s.trim());
  const contents: Content[] = messages
    .filter((m) => m.role !== 'system')
    .map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] }));
  return { systemInstruction: system.length ? system.join('\n\n') : undefined, contents };
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
    return new UpstreamError('http', `gemini: HTTP ${status}`, { status, retryAfterMs: parseRetryAfterMs(headers), cause: err });
  }
  if (typeof e.message === 'string' && /exception parsing stream chunk|Incomplete JSON segment/i.test(e.message)) {
    return new UpstreamError('protocol', 'gemini: malformed stream chunk', { cause: err });
  }
  return err;
}
