import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AuthUser } from 'src/common/auth-user';
import { mapPage } from 'src/common/pagination/keyset';
import { CreateFeedbackDto, FeedbackResponseDto } from 'src/research/dto/feedback.dto';
import {
  AddSessionMessageDto,
  ListSessionsQueryDto,
  ResearchSessionDto,
  ResearchSessionListDto,
  SessionMessageDto,
  UpdateSessionDto,
} from 'src/research/dto/research-session.dto';
import { ResearchSession } from 'src/research/entities/research-session.entity';
import { ResearchErrors } from 'src/research/research.errors';
import { ResearchFeedbackRepository } from 'src/research/sessions/research-feedback.repository';
import { ResearchMessageRepository } from 'src/research/sessions/research-message.repository';
import { ResearchSessionRepository } from 'src/research/sessions/research-session.repository';
import { SESSION_ID_PATTERN } from 'src/research/sessions/session-id.pipe';
import { toFeedbackResponse, toSessionMessage, toSessionSummary } from 'src/research/sessions/research-session.mapper';

/** Research sessions of the caller (another user's or team's session is a 404), their messages, feedback. */
@Injectable()
export class ResearchSessionsService {
  constructor(
    private readonly sessions: ResearchSessionRepository,
    private readonly messages: ResearchMessageRepository,
    private readonly feedback: ResearchFeedbackRepository,
  ) {}

  async list(user: AuthUser, q: ListSessionsQueryDto): Promise<ResearchSessionListDto> {
    return mapPage(
      await this.sessions.listOwned(user.teamId, user.id, { limit: q.limit ?? 20, cursor: q.cursor }),
      toSessionSummary,
    );
  }

  async get(user: AuthUser, sessionId: string): Promise<ResearchSessionDto> {
    const session = await this.requireOwned(user, sessionId);
    const messages = await this.messages.listForSession(user.teamId, sessionId);
    return {
      ...toSessionSummary(session),
      finalReport: session.finalReport,
      preferences: session.preferences,
      messages: messages.map(toSessionMessage),
    };
  }

  async update(user: AuthUser, sessionId: string, dto: UpdateSessionDto): Promise<ResearchSessionDto> {
    await this.requireOwned(user, sessionId);
    await this.sessions.updateOwned(user.teamId, user.id, sessionId, { title: dto.title, metadata: dto.metadata });
    return this.get(user, sessionId);
  }

  /** Stores a message once per client id; returns it and whether it was new (201 vs 200). */
  async addMessage(
    user: AuthUser,
    sessionId: string,
    dto: AddSessionMessageDto,
  ): Promise<{ message: SessionMessageDto; created: boolean }> {
    await this.requireOwned(user, sessionId);
    const { message, created } = await this.messages.addOnce(user.teamId, user.id, sessionId, {
      messageId: dto.id ?? randomUUID(),
      role: dto.role,
      content: dto.content,
      metadata: dto.metadata ?? {},
      sentAt: dto.timestamp ? new Date(dto.timestamp) : new Date(),
    });
    return { message: toSessionMessage(message), created };
  }

  /**
   * Feedback on one of the caller's sessions, one of the messages stored in one of them, or general
   * feedback. A session or message that is not the caller's (missing, another user's or team's) is a 404.
   * A `messageId` without `sessionId` is looked up in all the caller's sessions (400 when several hold it).
   */
  async createFeedback(user: AuthUser, dto: CreateFeedbackDto): Promise<FeedbackResponseDto> {
    let sessionId = dto.sessionId ?? null;
    if (sessionId !== null && !SESSION_ID_PATTERN.test(sessionId)) throw ResearchErrors.sessionNotFound();
    if (sessionId) await this.requireOwned(user, sessionId);
    if (dto.messageId) sessionId = await this.requireMessage(user, sessionId, dto.messageId);
    const row = await this.feedback.create(user.teamId, user.id, {
      sessionId,
      messageId: dto.messageId ?? null,
      rating: dto.rating,
      comment: dto.comment ?? null,
    });
    return toFeedbackResponse(row);
  }

  /** The session of the caller's message `messageId` (in `sessionId` when given); 404 / 400 as for feedback. */
  sessionOfMessage(user: AuthUser, sessionId: string | null, messageId: string): Promise<string> {
    return this.requireMessage(user, sessionId, messageId);
  }

  /** The session of the caller's message `messageId` (in `sessionId` when given). */
  private async requireMessage(user: AuthUser, sessionId: string | null, messageId: string): Promise<string> {
    const holders = await this.messages.sessionsHolding(user.teamId, user.id, messageId, sessionId, 2);
    if (!holders.length) throw ResearchErrors.messageNotFound();
    if (holders.length > 1) throw ResearchErrors.ambiguousMessage();
    return holders[0];
  }

  /** The access check of every method that takes a session id. */
  async requireOwned(user: AuthUser, sessionId: string): Promise<ResearchSession> {
    const session = SESSION_ID_PATTERN.test(sessionId)
      ? await this.sessions.findOwned(user.teamId, user.id, sessionId)
      : null;
    if (!session) throw ResearchErrors.sessionNotFound();
    return session;
  }
}
