import { Inject, Injectable, Logger } from '@nestjs/common';
import { AgentsService } from 'src/agents/agents.service';
import type { ApiKeyPrincipal } from 'src/api-keys/api-key-principal';
import { ChatLimitsService } from 'src/chats/chat-limits.service';
import { ChatsService } from 'src/chats/chats.service';
import { MessagesService } from 'src/chats/messages.service';
import { AppError } from 'src/common/errors/app-error';
import type { AuthUser } from 'src/common/auth-user';
import {
  agentType,
  CANVALO_USER_KEY,
  CanvaloChunk,
  completeChunk,
  errorChunk,
  tokenChunk,
  toConversation,
  toConversationWithMessages,
  toolCallChunk,
  translateError,
} from 'src/compat/canvalo/canvalo.mapper';
import type {
  CanvaloChatRequestDto,
  CanvaloConversationDto,
  CanvaloConversationWithMessagesDto,
} from 'src/compat/canvalo/canvalo.dto';
import { ToolCallAccumulator } from 'src/chats/chat-stream-events';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { abortableSleep } from 'src/llm/abortable-sleep';
import type { LlmChunk, LlmMessage, LlmRouting, LlmUsage } from 'src/llm/llm.types';
import { AgentRouter } from 'src/routing/agent-router.service';
import { CanvaloErrors } from 'src/compat/canvalo/canvalo.errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Waits before the 2nd, 3rd and 4th attempt, in units of CANVALO_RETRY_BASE_MS (the seed's 1 s / 2 s / 4 s). */
const RETRY_STEPS = [1, 2, 4];

/**
 * Canvalo's stateless chat (docs/compat.md) on this server's agents: the team's router agent answers
 * (through AgentRouter), the history comes with the request, conversations are this server's chats tagged
 * with the Canvalo user id and owned by the API key's creator. Before the first token a failure is retried
 * after 1, 2 and 4 s; what still fails becomes one friendly `error` chunk.
 */
@Injectable()
export class CanvaloService {
  private readonly logger = new Logger(CanvaloService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly agents: AgentsService,
    private readonly router: AgentRouter,
    private readonly chats: ChatsService,
    private readonly messages: MessagesService,
    private readonly limits: ChatLimitsService,
  ) {}

  /** Checks what can fail before streaming (agent, budget, conversation), then returns the chunk stream. */
  async stream(
    key: ApiKeyPrincipal,
    dto: CanvaloChatRequestDto,
    signal: AbortSignal,
  ): Promise<AsyncGenerator<CanvaloChunk>> {
    const agentId = await this.defaultAgentId(key.teamId);
    const chain = await this.agents.resolveChain(key.teamId, agentId);
    await this.limits.assertBudget(key.teamId);
    const owner = this.owner(key);
    const conversation = UUID.test(dto.conversation_id)
      ? await this.chats.requireTagged(owner, dto.conversation_id, CANVALO_USER_KEY, dto.user_id).catch(() => null)
      : null;
    const history: LlmMessage[] = [
      ...(dto.history ?? []).map((m) => ({ role: m.role, content: m.content })),
      { role: 'user', content: dto.message },
    ];
    return this.chunks(
      key,
      owner,
      conversation?.id ?? null,
      dto.message,
      chain[0].id,
      () => this.router.stream(key.teamId, chain, history, signal),
      signal,
    );
  }

  async listConversations(key: ApiKeyPrincipal, userId: string): Promise<CanvaloConversationDto[]> {
    const chats = await this.chats.listTagged(this.owner(key), CANVALO_USER_KEY, userId, 100);
    return chats.map((c) => toConversation(c, userId));
  }

  async createConversation(
    key: ApiKeyPrincipal,
    userId: string,
    title: string | null | undefined,
  ): Promise<CanvaloConversationDto> {
    const agentId = await this.defaultAgentId(key.teamId);
    const chat = await this.chats.create(this.owner(key), {
      agentId,
      title: title || 'New conversation',
      metadata: { [CANVALO_USER_KEY]: userId },
    });
    return toConversation(chat, userId);
  }

  async getConversation(key: ApiKeyPrincipal, id: string, userId: string): Promise<CanvaloConversationWithMessagesDto> {
    const owner = this.owner(key);
    await this.requireConversation(owner, id, userId);
    const detail = await this.chats.get(owner, id);
    const names = new Map((await this.agents.listActiveSummaries(key.teamId)).map((a) => [a.id, a.name]));
    return toConversationWithMessages(detail, userId, names);
  }

  async deleteConversation(key: ApiKeyPrincipal, id: string, userId: string): Promise<void> {
    const owner = this.owner(key);
    await this.requireConversation(owner, id, userId);
    await this.chats.delete(owner, id);
  }

  private async *chunks(
    key: ApiKeyPrincipal,
    owner: AuthUser,
    conversationId: string | null,
    message: string,
    agentId: string,
    open: () => AsyncGenerator<LlmChunk>,
    signal: AbortSignal,
  ): AsyncGenerator<CanvaloChunk> {
    let content = '';
    let usage: LlmUsage | null = null;
    let routing: LlmRouting | null = null;
    let model: string | null = null;
    let answeringName: string | null = null;
    const calls = new ToolCallAccumulator();
    let started = false;
    for (let attempt = 0; ; attempt++) {
      try {
        for await (const c of open()) {
          if (c.type === 'status') {
            if (c.routing) {
              routing = c.routing;
              answeringName = agentType(c.routing.routedToName);
            }
            if (!started) model = c.model;
          } else if (c.type === 'delta') {
            started = true;
            content += c.content;
            yield tokenChunk(c.content, answeringName);
          } else if (c.type === 'tool_call') {
            started = true;
            yield toolCallChunk(calls.add(c), answeringName);
          } else if (c.type === 'usage') usage = c.usage;
        }
        break;
      } catch (err) {
        if (signal.aborted) return;
        if (started || attempt >= RETRY_STEPS.length) {
          this.logger.warn({ apiKeyId: key.keyId, code: (err as AppError)?.code }, 'canvalo stream failed');
          yield errorChunk(translateError(err).userMessage, answeringName);
          return;
        }
        await abortableSleep(RETRY_STEPS[attempt] * this.config.canvalo.retryBaseMs, signal).catch(() => undefined);
        if (signal.aborted) return;
      }
    }
    const charged = usage ?? {
      promptTokens: Math.ceil(message.length / 4),
      completionTokens: Math.ceil(content.length / 4),
    };
    await this.limits
      .record(key.teamId, charged)
      .catch((err: Error) => this.logger.warn(`usage not recorded: ${err.message}`));
    if (conversationId) {
      await this.messages
        .recordExchange(owner, conversationId, message, {
          status: 'complete',
          content,
          model,
          usage: charged,
          agentId: routing?.routedTo ?? agentId,
          toolCalls: calls.size ? calls.list() : null,
          routing,
        })
        .catch((err: Error) => this.logger.warn(`canvalo exchange not stored: ${err.message}`));
    }
    yield completeChunk(content, answeringName);
  }

  /** The team's router agent (the oldest active agent with `config.router`), else its oldest active agent. */
  private async defaultAgentId(teamId: string): Promise<string> {
    const active = await this.agents.listActive(teamId);
    const chosen = active.find((a) => a.config.router) ?? active[0];
    if (!chosen) throw CanvaloErrors.noActiveAgent();
    return chosen.id;
  }

  private async requireConversation(owner: AuthUser, id: string, userId: string): Promise<void> {
    if (!UUID.test(id)) throw CanvaloErrors.conversationNotFound();
    await this.chats.requireTagged(owner, id, CANVALO_USER_KEY, userId).catch(() => {
      throw CanvaloErrors.conversationNotFound();
    });
  }

  /** Conversations belong to the key's creator (a chat needs an owner); a key never acts with a role. */
  private owner(key: ApiKeyPrincipal): AuthUser {
    if (!key.createdBy) throw CanvaloErrors.keyWithoutCreator();
    return { id: key.createdBy, teamId: key.teamId, role: 'user', email: '', jti: '', exp: 0 };
  }
}
