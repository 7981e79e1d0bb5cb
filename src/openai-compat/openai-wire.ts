import { randomBytes } from 'node:crypto';
import type { LlmFinishReason, LlmToolCall, LlmUsage } from 'src/llm/llm.types';

/** Builders of OpenAI's Chat Completions wire objects (`chat.completion`, `chat.completion.chunk`). */
export interface CompletionIds {
  id: string;
  created: number;
  model: string;
}

export const newCompletionIds = (model: string): CompletionIds => ({
  id: `chatcmpl-${randomBytes(18).toString('base64url')}`,
  created: Math.floor(Date.now() / 1000),
  model,
});

export const openAiUsage = (u: LlmUsage) => ({
  prompt_tokens: u.promptTokens,
  completion_tokens: u.completionTokens,
  total_tokens: u.promptTokens + u.completionTokens,
});

/** One `chat.completion.chunk`. With `stream_options.include_usage` every chunk carries `usage` (null but on the last). */
export function chunkObject(
  ids: CompletionIds,
  includeUsage: boolean,
  delta: Record<string, unknown>,
  finishReason: LlmFinishReason | null = null,
) {
  return {
    ...baseChunk(ids),
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  };
}

export function usageChunk(ids: CompletionIds, usage: LlmUsage) {
  return { ...baseChunk(ids), choices: [], usage: openAiUsage(usage) };
}

const baseChunk = (ids: CompletionIds) => ({
  id: ids.id,
  object: 'chat.completion.chunk',
  created: ids.created,
  model: ids.model,
  system_fingerprint: null,
});

export function completionObject(
  ids: CompletionIds,
  content: string,
  toolCalls: LlmToolCall[],
  finishReason: LlmFinishReason,
  usage: LlmUsage,
) {
  return {
    id: ids.id,
    object: 'chat.completion',
    created: ids.created,
    model: ids.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: content || (toolCalls.length ? null : ''),
          refusal: null,
          ...(toolCalls.length
            ? {
                tool_calls: toolCalls.map((c) => ({
                  id: c.id,
                  type: 'function',
                  function: { name: c.name, arguments: c.arguments },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage: openAiUsage(usage),
    system_fingerprint: null,
  };
}
