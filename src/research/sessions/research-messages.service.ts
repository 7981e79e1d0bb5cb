import { Injectable } from '@nestjs/common';
import { AuthUser } from 'src/common/auth-user';
import { EditMessageDto, MessageOperationDto } from 'src/research/dto/message-operation.dto';
import { ResearchMessage } from 'src/research/entities/research-message.entity';
import { ResearchErrors } from 'src/research/research.errors';
import { ResearchMessageRepository } from 'src/research/sessions/research-message.repository';
import { ResearchRunsService } from 'src/research/runs/research-runs.service';
import { toSessionMessage } from 'src/research/sessions/research-session.mapper';
import { ResearchSessionsService } from 'src/research/sessions/research-sessions.service';

/**
 * Edit, delete and regenerate of the messages of the caller's sessions. A message is found in the given
 * session, or (no session given, as Vana's /api/messages/:id) among all the caller's sessions; another user's
 * or team's message is a 404. Messages are ordered as GET shows them (sent time, then storage time).
 */
@Injectable()
export class ResearchMessagesService {
  constructor(
    private readonly sessions: ResearchSessionsService,
    private readonly messages: ResearchMessageRepository,
    private readonly runs: ResearchRunsService,
  ) {}

  /** New content; with `regenerate` on a user message, the messages after it go and its content is researched again. */
  async edit(
    user: AuthUser,
    sessionId: string | null,
    messageId: string,
    dto: EditMessageDto,
  ): Promise<MessageOperationDto> {
    const { session, list, index } = await this.locate(user, sessionId, messageId);
    const regenerate = dto.regenerate === true && list[index].role === 'user';
    if (regenerate && session.status === 'running') throw ResearchErrors.alreadyRunning();
    await this.messages.updateContent(user.teamId, session.id, messageId, dto.content);
    let deleted: string[] = [];
    let runNo: number | null = null;
    if (regenerate) {
      deleted = list.slice(index + 1).map((m) => m.messageId);
      await this.messages.deleteMany(user.teamId, session.id, deleted);
      ({ runNo } = await this.runs.start(
        user,
        session.id,
        { query: dto.content, preferences: session.preferences },
        { userMessageId: false },
      ));
    }
    const message = toSessionMessage({ ...list[index], content: dto.content });
    return { sessionId: session.id, messageId, message, deletedMessageIds: deleted, runStarted: runNo !== null, runNo };
  }

  /** Deletes the message and every message after it (the conversation stays consistent). */
  async delete(user: AuthUser, sessionId: string | null, messageId: string): Promise<MessageOperationDto> {
    const { session, list, index } = await this.locate(user, sessionId, messageId);
    const deleted = list.slice(index).map((m) => m.messageId);
    await this.messages.deleteMany(user.teamId, session.id, deleted);
    return { sessionId: session.id, messageId, deletedMessageIds: deleted, runStarted: false, runNo: null };
  }

  /**
   * A new answer for an assistant message: it and the messages after it go, and the user message before it
   * is researched again in a new run (409 while a run is going on; 400 for a user message or one with no
   * question before it).
   */
  async regenerate(user: AuthUser, sessionId: string | null, messageId: string): Promise<MessageOperationDto> {
    const { session, list, index } = await this.locate(user, sessionId, messageId);
    if (list[index].role !== 'assistant')
      throw ResearchErrors.notRegenerable('only an assistant message can be regenerated');
    const question = list
      .slice(0, index)
      .reverse()
      .find((m) => m.role === 'user');
    if (!question) throw ResearchErrors.notRegenerable('no user message precedes this message');
    if (session.status === 'running') throw ResearchErrors.alreadyRunning();
    const deleted = list.slice(index).map((m) => m.messageId);
    await this.messages.deleteMany(user.teamId, session.id, deleted);
    const { runNo } = await this.runs.start(
      user,
      session.id,
      { query: question.content, preferences: session.preferences },
      { userMessageId: false },
    );
    return { sessionId: session.id, messageId, deletedMessageIds: deleted, runStarted: true, runNo };
  }

  private async locate(user: AuthUser, sessionId: string | null, messageId: string) {
    const session = await this.sessions.requireOwned(
      user,
      await this.sessions.sessionOfMessage(user, sessionId, messageId),
    );
    const list: ResearchMessage[] = await this.messages.listForSession(user.teamId, session.id);
    const index = list.findIndex((m) => m.messageId === messageId);
    if (index < 0) throw ResearchErrors.messageNotFound();
    return { session, list, index };
  }
}
