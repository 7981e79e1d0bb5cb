import { Injectable, Logger } from '@nestjs/common';
import { AgentsService } from 'src/agents/agents.service';
import type { ApiKeyPrincipal } from 'src/api-keys/api-key-principal';
import { ChatLimitsService } from 'src/chats/chat-limits.service';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import type { LlmAgentConfig, LlmChunk, LlmFinishReason, LlmMessage, LlmToolCall, LlmUsage } from 'src/llm/llm.types';
import { AgentRouter } from 'src/routing/agent-router.service';
import { ChatCompletionRequest, parseChatCompletionRequest } from 'src/openai-compat/chat-request';
import { OpenAiError } from 'src/openai-compat/openai-errors';
import {
  chunkObject,
  completionObject,
  CompletionIds,
  newCompletionIds,
  usageChunk,
} from 'src/openai-compat/openai-wire';

/** What the controller sends: one JSON document, or the chunk objects of a stream (then `data: [DONE]`). */
export type CompletionReply = { stream: false; body: unknown } | { stream: true; chunks: AsyncGenerator<unknown> };

/**
 * `POST /v1/chat/completions` on the team's agents: the model is an agent id; the call runs through
 * LlmService (through AgentRouter: a router agent picks a candidate first) with the agent's fallback chain, per-agent breakers, retries and metrics, and is charged to
 * the team's monthly token budget (refused with 429 insufficient_quota when it is used up).
 *
 * Streams are opened up to the first output before anything is sent, so a request that fails before its
 * first token gets a real HTTP error (OpenAI's body and status), not a broken stream. The caller's signal
 * (the client's connection) aborts the upstream call: nobody could resume a stateless call.
 */
@Injectable()
export class ChatCompletionsService {
  private readonly logger = new Logger(ChatCompletionsService.name);

  constructor(
    private readonly agents: AgentsService,
    private readonly router: AgentRouter,
    private readonly limits: ChatLimitsService,
  ) {}

  async create(key: ApiKeyPrincipal, body: unknown, signal: AbortSignal): Promise<CompletionReply> {
    const req = parseChatCompletionRequest(body);
    const chain = await this.chainFor(key.teamId, req.model);
    await this.limits.assertBudget(key.teamId);
    if (req.user) this.logger.debug({ apiKeyId: key.keyId, endUser: req.user.slice(0, 200) }, 'chat completion');
    const ids = newCompletionIds(req.model);
    const run = new CompletionRun(
      this.router.stream(key.teamId, chain, req.messages, signal, req.options),
      req.messages,
    );
    try {
      await run.open();
    } catch (err) {
      await this.charge(key.teamId, run);
      throw err;
    }
    if (!req.stream) {
      try {
        await run.drain();
      } finally {
        await this.charge(key.teamId, run);
      }
      return {
        stream: false,
        body: completionObject(ids, run.content, run.toolCalls(), run.finishReason(), run.usageOrEstimate()),
      };
    }
    return { stream: true, chunks: this.streamChunks(key.teamId, run, ids, req) };
  }

  /** The team's models: its active agents (id = agent id). */
  async listModels(teamId: string): Promise<{ object: 'list'; data: unknown[] }> {
    const agents = await this.agents.listActiveSummaries(teamId);
    return { object: 'list', data: agents.map((a) => modelObject(a.id, a.createdAt)) };
  }

  async getModel(teamId: string, model: string): Promise<unknown> {
    const agent = (await this.agents.listActiveSummaries(teamId)).find((a) => a.id === model);
    if (!agent) throw OpenAiError.modelNotFound(model);
    return modelObject(agent.id, agent.createdAt);
  }

  private async *streamChunks(
    teamId: string,
    run: CompletionRun,
    ids: CompletionIds,
    req: ChatCompletionRequest,
  ): AsyncGenerator<unknown> {
    try {
      yield chunkObject(ids, req.includeUsage, { role: 'assistant', content: '' });
      for await (const c of run.rest()) {
        if (c.type === 'delta') yield chunkObject(ids, req.includeUsage, { content: c.content });
        else if (c.type === 'tool_call') {
          const first = c.id !== undefined || c.name !== undefined;
          const call = first
            ? { index: c.index, id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }
            : { index: c.index, function: { arguments: c.arguments } };
          yield chunkObject(ids, req.includeUsage, { tool_calls: [call] });
        }
      }
      yield chunkObject(ids, req.includeUsage, {}, run.finishReason());
      if (req.includeUsage) yield usageChunk(ids, run.usageOrEstimate());
    } finally {
      await this.charge(teamId, run);
    }
  }

  private async chainFor(teamId: string, model: string): Promise<LlmAgentConfig[]> {
    try {
      return await this.agents.resolveChain(teamId, model);
    } catch (err) {
      // Another team's agent, a deleted one or an inactive one without an active fallback: no such model here.
      if (err instanceof AppError && (err.code === ErrorCode.NOT_FOUND || err.code === ErrorCode.CONFLICT))
        throw OpenAiError.modelNotFound(model);
      throw err;
    }
  }

  private async charge(teamId: string, run: CompletionRun): Promise<void> {
    if (!run.started) return;
    await this.limits
      .record(teamId, run.usageOrEstimate())
      .catch((err: Error) => this.logger.warn(`usage not recorded: ${err.message}`));
  }
}

const modelObject = (id: string, created: Date) => ({
  id,
  object: 'model',
  created: Math.floor(created.getTime() / 1000),
  owned_by: 'team',
});

/** Reads one LlmService stream and keeps what the answer needs: text, tool calls, finish reason, usage. */
class CompletionRun {
  content = '';
  started = false;
  private readonly calls = new Map<number, LlmToolCall>();
  private finish: LlmFinishReason | null = null;
  private usage: LlmUsage | null = null;
  private readonly buffered: LlmChunk[] = [];
  private readonly iterator: AsyncIterator<LlmChunk>;

  constructor(
    source: AsyncGenerator<LlmChunk>,
    private readonly history: LlmMessage[],
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Reads up to the first output (text or tool call), or to the end. Upstream errors before it are thrown. */
  async open(): Promise<void> {
    for (;;) {
      const r = await this.iterator.next();
      if (r.done) return;
      this.note(r.value);
      this.buffered.push(r.value);
      if (r.value.type === 'delta' || r.value.type === 'tool_call') {
        this.started = true;
        return;
      }
    }
  }

  async drain(): Promise<void> {
    for await (const _ of this.rest()) void _;
  }

  /** The chunks after open(): the buffered ones first. Stopping early cancels the upstream call. */
  async *rest(): AsyncGenerator<LlmChunk> {
    try {
      while (this.buffered.length) yield this.buffered.shift() as LlmChunk;
      for (;;) {
        const r = await this.iterator.next();
        if (r.done) return;
        this.note(r.value);
        yield r.value;
      }
    } finally {
      await this.iterator.return?.(undefined);
    }
  }

  toolCalls(): LlmToolCall[] {
    return [...this.calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
  }

  finishReason(): LlmFinishReason {
    if (this.calls.size && (this.finish === null || this.finish === 'stop')) return 'tool_calls';
    return this.finish ?? 'stop';
  }

  /** The upstream's usage, or an estimate (4 characters a token) when it reported none. */
  usageOrEstimate(): LlmUsage {
    if (this.usage) return this.usage;
    const prompt = this.history.reduce((n, m) => n + m.content.length, 0);
    const completion =
      this.content.length + this.toolCalls().reduce((n, c) => n + c.name.length + c.arguments.length, 0);
    return { promptTokens: Math.ceil(prompt / 4), completionTokens: Math.ceil(completion / 4) };
  }

  private note(c: LlmChunk): void {
    if (c.type === 'delta') this.content += c.content;
    else if (c.type === 'usage') this.usage = c.usage;
    else if (c.type === 'finish') this.finish = c.reason;
    else if (c.type === 'tool_call') {
      const prev = this.calls.get(c.index);
      if (prev) prev.arguments += c.arguments;
      else this.calls.set(c.index, { id: c.id ?? `call_${c.index}`, name: c.name ?? '', arguments: c.arguments });
    }
  }
}
