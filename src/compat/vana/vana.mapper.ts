import type { AuthUser } from 'src/common/auth-user';
import type { SseFrame } from 'src/common/sse/sse-format';
import type { LoginDto, MeResponseDto, TokenResponseDto } from 'src/auth/dto/login.dto';
import type { RefreshDto } from 'src/auth/dto/refresh.dto';
import type { AgentHistoryListDto } from 'src/research/dto/agent-history.dto';
import type { CreateFeedbackDto, FeedbackResponseDto } from 'src/research/dto/feedback.dto';
import type { MessageOperationDto } from 'src/research/dto/message-operation.dto';
import type { RunResearchDto } from 'src/research/dto/run-research.dto';
import type {
  AddSessionMessageDto,
  ResearchSessionDto,
  ResearchSessionListDto,
  ResearchSessionSummaryDto,
  SessionMessageDto,
} from 'src/research/dto/research-session.dto';
import type {
  VanaAuthResponseDto,
  VanaLoginDto,
  VanaRefreshDto,
  VanaTokenDto,
  VanaUserDto,
} from 'src/compat/vana/dto/vana-auth.dto';
import type {
  VanaAddMessageDto,
  VanaFeedbackDto,
  VanaHistoryDto,
  VanaMessageFeedbackDto,
  VanaResearchResponseDto,
  VanaRunDto,
} from 'src/compat/vana/dto/vana-research.dto';
import type {
  VanaMessageDto,
  VanaMessageFeedbackResponseDto,
  VanaMessageOperationDto,
  VanaSessionDetailDto,
  VanaSessionListDto,
  VanaSessionSummaryDto,
} from 'src/compat/vana/dto/vana-session.dto';
import { VanaErrors } from 'src/compat/vana/vana.errors';

/**
 * Vana's wire format ⇄ the canonical services' DTOs. Shapes only: every rule (access, validation of the
 * canonical fields, what a run does) stays in the services.
 */
const now = () => new Date().toISOString();

// ── auth ─────────────────────────────────────────────────────────────────────────────────────────────────

export function toLoginDto(dto: VanaLoginDto): LoginDto {
  const email = (dto.email ?? dto.username ?? '').trim();
  if (!email) throw VanaErrors.required('username', 'username or email is required');
  return { email, password: dto.password, ...(dto.team ? { team: dto.team } : {}) };
}

export function toRefreshDto(dto: VanaRefreshDto): RefreshDto {
  return dto.refresh_token ? { refreshToken: dto.refresh_token } : {};
}

export function toVanaToken(t: TokenResponseDto): VanaTokenDto {
  return { access_token: t.accessToken, refresh_token: t.refreshToken, token_type: 'bearer', expires_in: t.expiresIn };
}

function vanaUser(u: {
  id: string;
  email: string;
  displayName: string;
  role: string;
  createdAt?: string;
  lastLoginAt?: string | null;
}): VanaUserDto {
  const [first, ...rest] = u.displayName.split(' ');
  const created = u.createdAt ?? now();
  return {
    id: u.id,
    email: u.email,
    username: u.email,
    first_name: first ?? '',
    last_name: rest.join(' '),
    full_name: u.displayName,
    is_active: true,
    is_verified: true,
    is_superuser: u.role === 'admin',
    last_login: u.lastLoginAt ?? null,
    created_at: created,
    updated_at: created,
    roles: [{ id: u.role === 'admin' ? 1 : 2, name: u.role, description: undefined, is_active: true, permissions: [] }],
  };
}

export function toVanaAuth(t: TokenResponseDto): VanaAuthResponseDto {
  return { user: vanaUser(t.user), tokens: toVanaToken(t) };
}

export function toVanaMe(me: MeResponseDto): VanaUserDto {
  return vanaUser(me);
}

// ── research runs ────────────────────────────────────────────────────────────────────────────────────────

/** Vana's run_session_sse: `query`, else `message`; neither is a 400 "Research query is required". */
export function toRunRequest(dto: VanaRunDto): RunResearchDto {
  const query = (dto.query || dto.message || '').trim();
  if (!query) throw VanaErrors.required('query', 'Research query is required');
  return { query, preferences: dto.preferences };
}

export function toVanaResearchResponse(sessionId: string, message: string, success = true): VanaResearchResponseDto {
  return { success, session_id: sessionId, message, timestamp: now() };
}

export function toVanaHistory(list: AgentHistoryListDto, user: AuthUser): VanaHistoryDto {
  const events = list.items.map((e) => ({
    type: e.type,
    data: { ...mapAgentFields(e.data), sessionId: e.sessionId, timestamp: e.timestamp },
  }));
  return { events, authenticated: true, user_id: user.id, timestamp: now() };
}

// ── feedback ─────────────────────────────────────────────────────────────────────────────────────────────

/** Either body: `rating` (client) or `score` (backend, rounded); none given: 0 (neutral). `invocation_id` names a session. */
export function toFeedback(dto: VanaFeedbackDto): CreateFeedbackDto {
  const rating = Math.round(dto.rating ?? dto.score ?? 0);
  const comment = [dto.type ? `[${dto.type}]` : '', dto.message ?? dto.text ?? ''].filter(Boolean).join(' ').trim();
  return { rating, ...(comment ? { comment } : {}), ...(dto.invocation_id ? { sessionId: dto.invocation_id } : {}) };
}

export function toMessageFeedback(messageId: string, dto: VanaMessageFeedbackDto): CreateFeedbackDto {
  return { messageId, rating: dto.feedback_type === 'upvote' ? 1 : -1, ...(dto.reason ? { comment: dto.reason } : {}) };
}

export function toVanaMessageFeedback(f: FeedbackResponseDto): VanaMessageFeedbackResponseDto {
  return {
    success: true,
    feedback_id: f.id,
    message_id: f.messageId ?? '',
    session_id: f.sessionId ?? '',
    timestamp: f.createdAt,
  };
}

// ── sessions and messages ────────────────────────────────────────────────────────────────────────────────

const vanaStatus = (status: string): string => (status === 'failed' ? 'error' : status);

export function toVanaSummary(
  s: ResearchSessionSummaryDto & { finalReport?: string | null },
  user: AuthUser,
): VanaSessionSummaryDto {
  return {
    id: s.id,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    status: vanaStatus(s.status),
    title: s.title || null,
    user_id: user.id,
    progress: s.progress,
    current_phase: s.currentPhase,
    final_report: s.finalReport ?? null,
    error: s.error?.message ?? null,
  };
}

export function toVanaMessage(m: SessionMessageDto, sessionId: string): VanaMessageDto {
  return {
    id: m.id,
    role: m.role,
    content: m.content,
    timestamp: m.timestamp,
    sessionId,
    metadata: Object.keys(m.metadata ?? {}).length ? m.metadata : null,
  };
}

export function toVanaDetail(s: ResearchSessionDto, user: AuthUser): VanaSessionDetailDto {
  return { ...toVanaSummary(s, user), messages: s.messages.map((m) => toVanaMessage(m, s.id)), authenticated: true };
}

export function toVanaList(list: ResearchSessionListDto, user: AuthUser): VanaSessionListDto {
  return {
    sessions: list.items.map((s) => toVanaSummary(s, user)),
    count: list.items.length,
    timestamp: now(),
    authenticated: true,
  };
}

/** Vana's SessionMessagePayload: role defaults to assistant. */
export function toAddMessage(dto: VanaAddMessageDto): AddSessionMessageDto {
  return {
    id: dto.id,
    role: dto.role ?? 'assistant',
    content: dto.content,
    timestamp: dto.timestamp,
    metadata: dto.metadata,
  };
}

export function toVanaOperation(
  operation: 'edit' | 'delete' | 'regenerate',
  r: MessageOperationDto,
): VanaMessageOperationDto {
  const data: Record<string, unknown> = {
    deleted_count: r.deletedMessageIds.length,
    deleted_message_ids: r.deletedMessageIds,
  };
  if (operation === 'edit')
    Object.assign(data, { new_content: r.message?.content, triggered_regeneration: r.runStarted });
  if (r.runNo !== null) data.run_no = r.runNo;
  return { success: true, message_id: r.messageId, session_id: r.sessionId, operation, timestamp: now(), data };
}

// ── events ───────────────────────────────────────────────────────────────────────────────────────────────

/** Agent statuses: Vana's `current | waiting | completed | error`. */
const AGENT_STATUS: Record<string, string> = {
  active: 'current',
  waiting: 'waiting',
  completed: 'completed',
  failed: 'error',
  cancelled: 'error',
};

function mapAgentFields(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...data };
  if (typeof data.status === 'string' && 'agent_id' in data) out.status = AGENT_STATUS[data.status] ?? data.status;
  if (Array.isArray(data.agents)) {
    out.agents = (data.agents as Array<Record<string, unknown>>).map((a) => ({
      ...a,
      status: AGENT_STATUS[String(a.status)] ?? a.status,
    }));
  }
  return out;
}

/**
 * A research frame as Vana's client reads it (useSSE.ts → sse-event-handlers.ts): `research_progress` with
 * `current_phase`, `overall_progress` (0..1) and `status`; terminal events with `status` completed | error;
 * agent statuses current | waiting | completed | error. Other frames pass with their agents mapped.
 */
export function toVanaFrame(frame: SseFrame): SseFrame {
  const data = (frame.data ?? {}) as Record<string, unknown>;
  const mapped = mapAgentFields(data);
  switch (frame.type) {
    case 'research_progress': {
      const { phase, progress, ...rest } = mapped;
      return { ...frame, data: { ...rest, current_phase: phase, overall_progress: progress, status: 'running' } };
    }
    case 'research_started':
      return { ...frame, data: { ...mapped, current_phase: 'starting', overall_progress: 0, status: 'running' } };
    case 'research_complete': {
      const { progress, ...rest } = mapped;
      return {
        ...frame,
        data: { ...rest, status: 'completed', overall_progress: progress ?? 1, current_phase: 'completed' },
      };
    }
    case 'error':
      return { ...frame, data: { ...mapped, status: 'error', outcome: data.status, error: data.message } };
    case 'agent_network_update':
    case 'agent_network_snapshot': {
      const { phase, progress, ...rest } = mapped;
      return { ...frame, data: { ...rest, current_phase: phase, overall_progress: progress } };
    }
    default:
      return { ...frame, data: mapped };
  }
}
