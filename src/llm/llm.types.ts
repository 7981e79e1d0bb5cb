/**
 * The provider layer's contract. `llm` knows nothing of chats, research or the database:
 * callers hand it fully resolved agent configs (secrets already decrypted) and a conversation.
 */
export type LlmProviderName = 'gemini' | 'openai' | 'n8n' | 'mock';

export interface LlmMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface LlmAgentConfig {
  /** Agent id; the per-agent circuit breaker is keyed by it. */
  id: string;
  name: string;
  provider: LlmProviderName;
  model: string;
  /** gemini/openai: API base URL override (LiteLLM proxy, OpenRouter, a test server). */
  baseUrl?: string | null;
  /** n8n: the webhook to POST to. */
  webhookUrl?: string | null;
  /** Decrypted apiKey (gemini/openai) or webhookToken (n8n). Never log it. */
  secret?: string | null;
  systemPrompt?: string | null;
  config: {
    temperature?: number;
    maxTokens?: number;
    /** mock provider: how many deltas and how far apart. */
    mockDeltas?: number;
    mockDelayMs?: number;
    [key: string]: unknown;
  };
}

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
}

export type LlmChunk =
  | { type: 'delta'; content: string }
  | { type: 'usage'; usage: LlmUsage }
  /** Emitted by LlmService (not adapters) before the first delta, e.g. "retrying", "falling back to X". */
  | { type: 'status'; description: string; agentId: string; model: string };

/** One adapter per provider. It must stop and close the upstream request when `signal` aborts. */
export interface LlmProvider {
  readonly name: LlmProviderName;
  stream(agent: LlmAgentConfig, messages: LlmMessage[], signal: AbortSignal): AsyncIterable<LlmChunk>;
}
