/**
 * The provider layer's contract. `llm` knows nothing of chats, research or the database:
 * callers hand it fully resolved agent configs (secrets already decrypted) and a conversation.
 */
export type LlmProviderName = 'gemini' | 'openai' | 'n8n' | 'mock';

export interface LlmMessage {
  /** `tool`: the result of a tool call (`toolCallId`), sent back by the client that ran the tool. */
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** assistant: the tool calls it made (complete, as the client got them). */
  toolCalls?: LlmToolCall[];
  /** tool: which call this answers. */
  toolCallId?: string;
}

/** A complete tool call. `arguments` is the JSON text of the arguments, as OpenAI sends it. */
export interface LlmToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A tool (function) the model may call: JSON Schema `parameters`, as in OpenAI's `tools[].function`. */
export interface LlmToolDefinition {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

export type LlmToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** Per-request options (the /v1 API): override the agent's config for one call. */
export interface LlmRequestOptions {
  temperature?: number;
  maxTokens?: number;
  stop?: string[];
  tools?: LlmToolDefinition[];
  toolChoice?: LlmToolChoice;
}

export type LlmFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface LlmAgentConfig {
  /** Agent id; the per-agent circuit breaker is keyed by it. */
  id: string;
  /** Optional: labels the agent's breaker for monitoring. */
  teamId?: string | null;
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
  /**
   * A piece of a tool call, OpenAI-style: the first piece of call `index` has its `id` and `name`, later
   * pieces add text to its `arguments`. An adapter whose upstream sends whole calls (Gemini) sends one piece.
   */
  | { type: 'tool_call'; index: number; id?: string; name?: string; arguments: string }
  /** Why the upstream stopped, when it said (adapters; optional). */
  | { type: 'finish'; reason: LlmFinishReason }
  /** Emitted by LlmService (not adapters) before the first delta, e.g. "retrying", "falling back to X". */
  | { type: 'status'; description: string; agentId: string; model: string; routing?: LlmRouting };

/** A router agent's decision (emitted by the routing layer as a status chunk, before the chosen agent's chunks). */
export interface LlmRouting {
  routerAgentId: string;
  routedTo: string;
  routedToName: string;
  reason: string;
  method: 'model' | 'default';
}

/** Callbacks an adapter gives LlmService about the progress of the upstream request. */
export interface LlmStreamHooks {
  /**
   * The upstream accepted the request (response headers arrived). Ends the connect-timeout phase.
   * Adapters whose upstream legitimately sends headers only with the complete answer (n8n) call it as
   * soon as the request is sent; the first-token timeout then bounds them.
   */
  onConnected?(): void;
}

/**
 * One adapter per provider. It must stop and close the upstream request when `signal` aborts, and throw
 * (never return normally) when aborted. Failures are thrown as `UpstreamError` (src/llm/llm.errors.ts)
 * where the adapter knows the cause; LlmService classifies anything else. Adapters never retry.
 */
export interface LlmProvider {
  readonly name: LlmProviderName;
  stream(
    agent: LlmAgentConfig,
    messages: LlmMessage[],
    signal: AbortSignal,
    hooks?: LlmStreamHooks,
    options?: LlmRequestOptions,
  ): AsyncIterable<LlmChunk>;
}

/** What `LlmService.complete` returns: the whole reply and which agent/model produced it. */
export interface LlmCompletion {
  content: string;
  /** null when the upstream reported no usage (n8n usually does not). */
  usage: LlmUsage | null;
  agentId: string;
  model: string;
}
