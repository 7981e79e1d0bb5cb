import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, Repository } from 'typeorm';
import { Chat, ChatMetadata } from 'src/chats/entities/chat.entity';
import { Message } from 'src/chats/entities/message.entity';

export interface ChatListQuery {
  archived?: boolean;
  titleContains?: string;
  /** Only chats whose `metadata[key]` is this string (compat surfaces tag their conversations). */
  metadataEquals?: { key: string; value: string };
  limit: number;
  /** Position after which to continue: the previous page's last (created_at as text, id). */
  after?: { createdAt: string; id: string } | null;
}

export interface ChatPage {
  items: Chat[];
  /** (created_at as text with microseconds, id) of the last item, when there may be more. */
  next: { createdAt: string; id: string } | null;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Chats of one owner inside one team: every method takes both. */
@Injectable()
export class ChatRepository {
  constructor(@InjectRepository(Chat) private readonly repo: Repository<Chat>) {}

  create(teamId: string, ownerId: string, fields: { agentId: string; title: string; metadata: ChatMetadata }): Promise<Chat> {
    return this.repo.save(this.repo.create({ teamId, ownerId, ...fields, isArchived: false }));
  }

  findOwned(teamId: string, ownerId: string, id: string): Promise<Chat | null> {
    return this.repo.findOne({ where: { id, teamId, ownerId } });
  }

  /**
   * The owned chat and one of its messages in one round trip (opening a stream, cancel): null when the chat
   * is not the caller's, `message` null when the chat has no such message.
   */
  async findOwnedWithMessage(teamId: string, ownerId: string, id: string, messageId: string): Promise<{ chat: Chat; message: Message | null } | null> {
    const chat = (await this.repo
      .createQueryBuilder('c')
      .leftJoinAndMapOne('c.message', Message, 'm', 'm.id = :messageId AND m.chat_id = c.id AND m.team_id = c.team_id', { messageId })
      .where('c.id = :id AND c.team_id = :teamId AND c.owner_id = :ownerId', { id, teamId, ownerId })
      .getOne()) as (Chat & { message?: Message }) | null;
    if (!chat) return null;
    const message = chat.message ?? null;
    delete chat.message;
    return { chat, message };
  }

  async listForOwner(teamId: string, ownerId: string, q: ChatListQuery): Promise<ChatPage> {
    const qb = this.repo
      .createQueryBuilder('c')
      .addSelect('c.created_at::text', 'cursor_ts')
      .where('c.team_id = :teamId AND c.owner_id = :ownerId', { teamId, ownerId })
      .orderBy('c.created_at', 'DESC')
      .addOrderBy('c.id', 'DESC')
      .limit(q.limit + 1);
    if (q.archived !== undefined) qb.andWhere('c.is_archived = :archived', { archived: q.archived });
    if (q.metadataEquals) qb.andWhere('c.metadata ->> :mk = :mv', { mk: q.metadataEquals.key, mv: q.metadataEquals.value });
    if (q.titleContains) qb.andWhere(`c.title ILIKE :title ESCAPE '\\'`, { title: `%${escapeLike(q.titleContains)}%` });
    if (q.after) {
      const after = q.after;
      qb.andWhere(
        new Brackets((w) =>
          w.where('c.created_at < :ts::timestamptz', { ts: after.createdAt }).orWhere('(c.created_at = :ts::timestamptz AND c.id < :aid)', { aid: after.id }),
        ),
      );
    }
    const { entities, raw } = await qb.getRawAndEntities<{ cursor_ts: string }>();
    const more = entities.length > q.limit;
    const items = entities.slice(0, q.limit);
    const last = items.length ? items[items.length - 1] : null;
    return { items, next: more && last ? { createdAt: raw[items.length - 1].cursor_ts, id: last.id } : null };
  }

  async update(teamId: string, ownerId: string, id: string, patch: Partial<Pick<Chat, 'title' | 'metadata' | 'isArchived'>>): Promise<void> {
    const values = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Parameters<Repository<Chat>['update']>[1];
    if (Object.keys(values).length) await this.repo.update({ id, teamId, ownerId }, values);
  }

  async touch(teamId: string, id: string): Promise<void> {
    await this.repo.update({ id, teamId }, { updatedAt: new Date() });
  }

  async delete(teamId: string, ownerId: string, id: string): Promise<void> {
    await this.repo.delete({ id, teamId, ownerId });
  }

  /** Ranked title matches of the owner's chats. */
  searchTitles(teamId: string, ownerId: string, query: string, limit: number): Promise<{ chatId: string; snippet: string; rank: number }[]> {
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
