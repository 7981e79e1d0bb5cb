import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Keyset, type Page, type PageRequest } from 'src/common/pagination/keyset';
import { Chat, ChatMetadata } from 'src/chats/entities/chat.entity';
import { Message } from 'src/chats/entities/message.entity';

export interface ChatListQuery extends PageRequest {
  archived?: boolean;
  titleContains?: string;
  /** Only chats whose `metadata[key]` is this string (compat surfaces tag their conversations). */
  metadataEquals?: { key: string; value: string };
}

/** Newest first by creation (`updated_at` moves while paging, so it cannot be the key). */
const CHATS_KEYSET = new Keyset(
  'chats',
  [
    { expr: 'c.created_at', type: 'timestamptz' },
    { expr: 'c.id', type: 'uuid' },
  ],
  'DESC',
);

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Chats of one owner inside one team: every method takes both. */
@Injectable()
export class ChatRepository {
  constructor(@InjectRepository(Chat) private readonly repo: Repository<Chat>) {}

  create(
    teamId: string,
    ownerId: string,
    fields: { agentId: string; title: string; metadata: ChatMetadata },
  ): Promise<Chat> {
    return this.repo.save(this.repo.create({ teamId, ownerId, ...fields, isArchived: false }));
  }

  findOwned(teamId: string, ownerId: string, id: string): Promise<Chat | null> {
    return this.repo.findOne({ where: { id, teamId, ownerId } });
  }

  /**
   * The owned chat and one of its messages in one round trip (opening a stream, cancel): null when the chat
   * is not the caller's, `message` null when the chat has no such message.
   */
  async findOwnedWithMessage(
    teamId: string,
    ownerId: string,
    id: string,
    messageId: string,
  ): Promise<{ chat: Chat; message: Message | null } | null> {
    const chat: (Chat & { message?: Message }) | null = await this.repo
      .createQueryBuilder('c')
      .leftJoinAndMapOne(
        'c.message',
        Message,
        'm',
        'm.id = :messageId AND m.chat_id = c.id AND m.team_id = c.team_id',
        { messageId },
      )
      .where('c.id = :id AND c.team_id = :teamId AND c.owner_id = :ownerId', { id, teamId, ownerId })
      .getOne();
    if (!chat) return null;
    const message = chat.message ?? null;
    delete chat.message;
    return { chat, message };
  }

  listForOwner(teamId: string, ownerId: string, q: ChatListQuery): Promise<Page<Chat>> {
    const qb = this.repo
      .createQueryBuilder('c')
      .where('c.team_id = :teamId AND c.owner_id = :ownerId', { teamId, ownerId });
    if (q.archived !== undefined) qb.andWhere('c.is_archived = :archived', { archived: q.archived });
    if (q.metadataEquals)
      qb.andWhere('c.metadata ->> :mk = :mv', { mk: q.metadataEquals.key, mv: q.metadataEquals.value });
    if (q.titleContains) qb.andWhere(`c.title ILIKE :title ESCAPE '\\'`, { title: `%${escapeLike(q.titleContains)}%` });
    return CHATS_KEYSET.page(qb, q);
  }

  async update(
    teamId: string,
    ownerId: string,
    id: string,
    patch: Partial<Pick<Chat, 'title' | 'metadata' | 'isArchived'>>,
  ): Promise<void> {
    const values = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Parameters<
      Repository<Chat>['update']
    >[1];
    if (Object.keys(values).length) await this.repo.update({ id, teamId, ownerId }, values);
  }

  async touch(teamId: string, id: string): Promise<void> {
    await this.repo.update({ id, teamId }, { updatedAt: new Date() });
  }

  async delete(teamId: string, ownerId: string, id: string): Promise<void> {
    await this.repo.delete({ id, teamId, ownerId });
  }

  /** Ranked title matches of the owner's chats. */
  searchTitles(
    teamId: string,
    ownerId: string,
    query: string,
    limit: number,
  ): Promise<{ chatId: string; snippet: string; rank: number }[]> {
    return this.repo.query(
      `SELECT c.id AS "chatId",
              ts_headline('english', c.title, q, 'StartSel=<mark>, StopSel=</mark>, HighlightAll=true') AS snippet,
              ts_rank(c.search, q)::float8 AS rank
         FROM chats c, websearch_to_tsquery('english', $3) q
        WHERE c.team_id = $1 AND c.owner_id = $2 AND c.search @@ q
        ORDER BY rank DESC, c.created_at DESC
        LIMIT $4`,
      [teamId, ownerId, query, limit],
    );
  }
}
