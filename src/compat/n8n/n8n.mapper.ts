import { concatMap, defer, from, OperatorFunction } from 'rxjs';
import type { AgentResponseDto } from 'src/agents/dto/agent-response.dto';
import type { LoginDto, MeResponseDto } from 'src/auth/dto/login.dto';
import type { RegisterDto } from 'src/auth/dto/register.dto';
import type { DoneEventData, ErrorEventData, MessageEventData, StatusEventData } from 'src/chats/chat-stream-events';
import type { CreateChatDto, SendMessageDto, UpdateChatDto } from 'src/chats/dto/chat-requests.dto';
import type { ChatDetailDto, ChatResponseDto, MessageResponseDto } from 'src/chats/dto/chat-responses.dto';
import type { AuthUser } from 'src/common/auth-user';
import type { SseFrame } from 'src/common/sse/sse-format';
import type {
  N8nAgentDto,
  N8nCreateChatDto,
  N8nLoginDto,
  N8nRegisterDto,
  N8nSendMessageDto,
  N8nUpdateChatDto,
} from 'src/compat/n8n/dto/n8n-requests.dto';
import type { UserResponseDto } from 'src/teams/dto/user-response.dto';

/**
 * Field mapping between the n8n chat backend's wire format (seeds 001, 003) and the canonical DTOs. Pure
 * functions, no rule of their own: requests become canonical DTOs (validated afterwards by the canonical
 * classes), canonical responses and stream events become the seed's shapes.
 */

/** The model an n8n agent reports when the seed's `config` names none (the workflow picks the model). */
export const N8N_DEFAULT_MODEL = 'n8n-webhook';

/** Drops `undefined` values, so that "not sent" stays "not sent" in a PATCH-like canonical DTO. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

// ---- requests → canonical DTOs (plain objects; checked with validateAs against the canonical class) ----

export const toRegister = (b: N8nRegisterDto): Partial<RegisterDto> =>
  defined({
    email: b.email,
    password: b.password,
    teamId: b.team_id,
    displayName: b.full_name,
  } as Partial<RegisterDto>);

export const toLogin = (b: N8nLoginDto): Partial<LoginDto> =>
  defined({ email: b.email, password: b.password } as Partial<LoginDto>);

/** The seed's free-form `config` → the canonical model and known config keys (others are ignored). */
function agentConfig(config: unknown): { model?: unknown; config?: Record<string, unknown> } {
  const c = asRecord(config);
  if (!c) return config === undefined ? {} : { config: config as Record<string, unknown> };
  const known = defined({ temperature: c.temperature, maxTokens: c.max_tokens, topP: c.top_p });
  return { model: c.model, config: known };
}

/** POST /api/agents: an agent of this project's `n8n` provider. */
export function toCreateAgent(b: N8nAgentDto): Record<string, unknown> {
  const { model, config } = agentConfig(b.config);
  return defined({
    name: b.name,
    description: b.description,
    provider: 'n8n',
    model: model ?? N8N_DEFAULT_MODEL,
    webhookUrl: b.webhook_url,
    webhookToken: b.webhook_token,
    systemPrompt: b.system_prompt,
    config,
    isActive: b.is_active,
  });
}

/** PUT /api/agents/:id in the seed changes the fields sent: the canonical PATCH. */
export function toUpdateAgent(b: N8nAgentDto): Record<string, unknown> {
  const { model, config } = agentConfig(b.config);
  return defined({
    name: b.name,
    description: b.description,
    model,
    webhookUrl: b.webhook_url,
    webhookToken: b.webhook_token,
    systemPrompt: b.system_prompt,
    config,
    isActive: b.is_active,
  });
}

export const toCreateChat = (b: N8nCreateChatDto): Partial<CreateChatDto> =>
  defined({ agentId: b.agent_id, title: b.title, metadata: b.metadata } as Partial<CreateChatDto>);

export const toUpdateChat = (b: N8nUpdateChatDto): Partial<UpdateChatDto> =>
  defined({ title: b.title, metadata: b.metadata, isArchived: b.is_archived } as Partial<UpdateChatDto>);

export const toSendMessage = (b: N8nSendMessageDto): Partial<SendMessageDto> =>
  defined({ content: b.content } as Partial<SendMessageDto>);

// ---- canonical responses → the seed's shapes ----

export interface N8nUser {
  id: string;
  email: string;
  full_name: string;
  role: 'admin' | 'user';
  team_id: string;
  is_active: boolean;
  created_at?: string;
  last_login_at?: string | null;
}

/** Only active users can be seen through the API (an inactive one cannot log in), hence `is_active: true`. */
export const toN8nUser = (u: UserResponseDto): N8nUser => ({
  id: u.id,
  email: u.email,
  full_name: u.displayName,
  role: u.role,
  team_id: u.teamId,
  is_active: true,
  created_at: u.createdAt,
  last_login_at: u.lastLoginAt,
});

export const toN8nMe = (me: MeResponseDto): N8nUser => ({
  id: me.id,
  email: me.email,
  full_name: me.displayName,
  role: me.role,
  team_id: me.team.id,
  is_active: true,
});

export interface N8nAgent {
  id: string;
  team_id: string;
  name: string;
  description: string;
  webhook_url: string | null;
  system_prompt: string;
  config: Record<string, unknown>;
  avatar_url: string | null;
  is_active: boolean;
  created_at: string;
  updated_at: string;
}

export function toN8nAgent(a: AgentResponseDto, user: AuthUser): N8nAgent {
  const c = a.config;
  return {
    id: a.id,
    team_id: user.teamId,
    name: a.name,
    description: a.description,
    webhook_url: a.webhookUrl,
    system_prompt: a.systemPrompt,
    config: defined({ model: a.model, temperature: c.temperature, max_tokens: c.maxTokens, top_p: c.topP }),
    avatar_url: a.avatarUrl,
    is_active: a.isActive,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  };
}

export interface N8nMessage {
  role: string;
  content: string;
  timestamp: string;
}

export const toN8nMessage = (m: MessageResponseDto): N8nMessage => ({
  role: m.role,
  content: m.content,
  timestamp: m.createdAt,
});

export interface N8nChat {
  id: string;
  team_id: string;
  user_id: string;
  agent_id: string;
  title: string;
  messages?: N8nMessage[];
  metadata: Record<string, unknown>;
  is_archived: boolean;
  created_at: string;
  updated_at: string;
}

/** A chat is only ever its owner's, so `user_id` is the caller. `messages` when the canonical answer has them. */
export function toN8nChat(c: ChatResponseDto | ChatDetailDto, user: AuthUser): N8nChat {
  return {
    id: c.id,
    team_id: user.teamId,
    user_id: user.id,
    agent_id: c.agentId,
    title: c.title,
    ...('messages' in c ? { messages: c.messages.map(toN8nMessage) } : {}),
    metadata: c.metadata,
    is_archived: c.isArchived,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  };
}

// ---- the reply stream (seed 003, "SSE Event Format") ----

/**
 * Canonical reply events → the seed's: the opening `status`, then `message` chunks, then the closing `status`
 * `{description, level, done: true}` and `done {message}` (seed 003, "SSE Event Format"). Each keeps the
 * seed's fields only. The canonical per-agent status (`Asking <agent>`) of the first agent is not part of
 * the seed's sequence and is left out; a later one (a fallback agent took over) is passed on as a `warning`.
 * An `error` becomes a closing `status` at level `error` followed by `error {message, code}`. Ids are kept
 * (the seed's reader ignores them; an EventSource-like client could resume with them).
 */
export function toN8nEvents(): OperatorFunction<SseFrame, SseFrame> {
  return (source) =>
    defer(() => {
      let agents = 0;
      return source.pipe(
        concatMap((f) => {
          const agentStatus = f.type === 'status' && (f.data as StatusEventData).agentId !== undefined;
          return from(n8nFrames(f, agentStatus ? agents++ === 0 : false));
        }),
      );
    });
}

/** One canonical frame as the seed's frames; `skip`: the first agent's status (see toN8nEvents). */
export function n8nFrames(f: SseFrame, skip = false): SseFrame[] {
  switch (f.type) {
    case 'status': {
      if (skip) return [];
      const d = f.data as StatusEventData;
      const level = d.agentId !== undefined ? 'warning' : d.level;
      return [{ id: f.id, type: 'status', data: { description: d.description, level, done: d.done } }];
    }
    case 'message':
      return [{ id: f.id, type: 'message', data: { content: (f.data as MessageEventData).content } }];
    case 'done': {
      const d = f.data as DoneEventData;
      const level = d.status === 'cancelled' ? 'warning' : 'info';
      return [
        { type: 'status', data: { description: d.message, level, done: true } },
        { id: f.id, type: 'done', data: { message: d.message } },
      ];
    }
    case 'error': {
      const d = f.data as ErrorEventData;
      return [
        { type: 'status', data: { description: d.message, level: 'error', done: true } },
        { id: f.id, type: 'error', data: { message: d.message, code: d.code } },
      ];
    }
    default:
      return [];
  }
}

/** The seed's lists are arrays: the canonical pages, followed to the end (bounded by `max` items). */
export async function allPages<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>,
  max = 1000,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const p = await page(cursor);
    out.push(...p.items);
    cursor = p.nextCursor ?? undefined;
  } while (cursor && out.length < max);
  return out.slice(0, max);
}
