import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { In, Repository } from 'typeorm';
import { ResearchMessage, ResearchMessageRole } from 'src/research/entities/research-message.entity';

/** The only place that touches `research_messages`. */
@Injectable()
export class ResearchMessageRepository {
  constructor(@InjectRepository(ResearchMessage) private readonly repo: Repository<ResearchMessage>) {}

  /** Oldest first. */
  listForSession(teamId: string, sessionId: string): Promise<ResearchMessage[]> {
    return this.repo.find({ where: { teamId, sessionId }, order: { sentAt: 'ASC', createdAt: 'ASC' } });
  }

  /**
   * The sessions holding a message with this client id, among the owner's sessions (or only `sessionId`,
   * one of theirs); at most `limit`.
   */
  async sessionsHolding(
    teamId: string,
    userId: string,
    messageId: string,
    sessionId: string | null,
    limit: number,
  ): Promise<string[]> {
    const rows = await this.repo.find({
      select: { sessionId: true },
      where: sessionId ? { teamId, userId, sessionId, messageId } : { teamId, userId, messageId },
      order: { sessionId: 'ASC' },
      take: limit,
    });
    return rows.map((r) => r.sessionId);
  }

  /** Stores the message unless the session already has one with this `messageId`; returns the stored one. */
  async addOnce(
    teamId: string,
    userId: string,
    sessionId: string,
    values: {
      messageId: string;
      role: ResearchMessageRole;
      content: string;
      metadata: Record<string, unknown>;
      sentAt: Date;
    },
  ): Promise<{ message: ResearchMessage; created: boolean }> {
    const result = await this.repo
      .createQueryBuilder()
      .insert()
      .into(ResearchMessage)
      .values({ ...values, teamId, userId, sessionId } as QueryDeepPartialEntity<ResearchMessage>)
      .orIgnore()
      .execute();
    const message = await this.repo.findOneOrFail({ where: { teamId, sessionId, messageId: values.messageId } });
    return { message, created: (result.identifiers?.filter(Boolean).length ?? 0) > 0 };
  }

  /** Replaces the content of one message of the session. */
  async updateContent(teamId: string, sessionId: string, messageId: string, content: string): Promise<void> {
    await this.repo.update({ teamId, sessionId, messageId }, { content });
  }

  /** Deletes the given messages of the session (ids as the client knows them). */
  async deleteMany(teamId: string, sessionId: string, messageIds: string[]): Promise<void> {
    if (!messageIds.length) return;
    await this.repo.delete({ teamId, sessionId, messageId: In(messageIds) });
  }
}
