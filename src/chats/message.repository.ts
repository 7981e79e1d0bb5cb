import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { Message, MessageStatus, MessageUsage } from 'src/chats/entities/message.entity';

export interface NewExchange {
  teamId: string;
  chatId: string;
  /** The user message to store first (absent for regenerate). */
  user?: { parentId: string | null; content: string; clientMessageId: string | null };
  /** Parent of the assistant message when there is no user message (regenerate). */
  assistantParentId?: string | null;
  agentId: string;
  leaseOwner: string;
  leaseMs: number;
}

export interface FinalState {
  status: Exclude<MessageStatus, 'streaming'>;
  content: string;
  errorCode?: string | null;
  errorMessage?: string | null;
  model?: string | null;
  usage?: MessageUsage | null;
  finalEventId?: string | null;
  /** The first `persistedLength` code units of `content` are already stored: append only the rest. */
  persistedLength?: number;
}

/** Messages of a chat. Every method is scoped by team (and chat where it reads a chat's messages). */
@Injectable()
export class MessageRepository {
  constructor(@InjectRepository(Message) private readonly repo: Repository<Message>) {}

  findInChat(teamId: string, chatId: string, id: string): Promise<Message | null> {
    return this.repo.findOne({ where: { id, chatId, teamId } });
  }

  /** For the stream and the engine: the message by id inside a team. */
  findById(teamId: string, id: string): Promise<Message | null> {
    return this.repo.findOne({ where: { id, teamId } });
  }

  findByClientId(teamId: string, chatId: string, clientMessageId: string): Promise<Message | null> {
    return this.repo.findOne({ where: { teamId, chatId, clientMessageId } });
  }

  /** The assistant reply created together with a user message (its first assistant child). */
  findFirstReply(teamId: string, chatId: string, userMessageId: string): Promise<Message | null> {
    return this.repo.findOne({ where: { teamId, chatId, parentId: userMessageId, role: 'assistant' }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Every message of the chat, oldest first. */
  listForChat(teamId: string, chatId: string): Promise<Message[]> {
    return this.repo.find({ where: { teamId, chatId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /**
   * Stores the user message (if any) and an empty `streaming` assistant message holding a lease, in one
   * transaction. Returns null when the client message id already exists (a concurrent duplicate).
   */
  async insertExchange(x: NewExchange): Promise<{ user: Message | null; assistant: Message } | null> {
    return this.repo.manager.transaction(async (m) => {
      const r = m.getRepository(Message);
      let user: Message | null = null;
      if (x.user) {
        // ON CONFLICT DO NOTHING: a concurrent duplicate of the same clientMessageId inserts nothing.
        const inserted = await r
          .createQueryBuilder()
          .insert()
          .values({ teamId: x.teamId, chatId: x.chatId, parentId: x.user.parentId, role: 'user', content: x.user.content, status: 'complete', clientMessageId: x.user.clientMessageId })
          .orIgnore()
          .returning(['id'])
          .execute();
        const id = (inserted.raw as { id: string }[])[0]?.id;
        if (!id) return null;
        user = await r.findOneOrFail({ where: { id } });
      }
      const createdAt = user ? new Date(user.createdAt.getTime() + 1) : undefined;
      const assistant = await r.save(
        r.create({
          teamId: x.teamId,
          chatId: x.chatId,
          parentId: user ? user.id : (x.assistantParentId ?? null),
          role: 'assistant',
          content: '',
          status: 'streaming',
          agentId: x.agentId,
          leaseOwner: x.leaseOwner,
          leaseExpiresAt: new Date(Date.now() + x.leaseMs),
        }),
      );
      // A reply sorts after its question even though both rows share the transaction's now().
      if (createdAt) {
        await r.update({ id: assistant.id }, { createdAt });
        assistant.createdAt = createdAt;
      }
      return { user, assistant };
    });
  }

  /** Persists accumulated content of a generating message and extends its lease (only while it streams). */
  async saveProgress(teamId: string, id: string, content: string, leaseMs: number): Promise<void> {
    await this.repo.query(
      `UPDATE messages SET content = $3, lease_expires_at = now() + ($4 || ' milliseconds')::interval, updated_at = now()
        WHERE id = $1 AND team_id = $2 AND status = 'streaming'`,
      [id, teamId, content, String(leaseMs)],
    );
  }

  /** Appends a batch of new content (the writer rewrites everything after a failed append). */
  async appendProgress(teamId: string, id: string, part: string, leaseMs: number): Promise<void> {
    await this.repo.query(
      `UPDATE messages SET content = content || $3, lease_expires_at = now() + ($4 || ' milliseconds')::interval, updated_at = now()
        WHERE id = $1 AND team_id = $2 AND status = 'streaming'`,
      [id, teamId, part, String(leaseMs)],
    );
  }

  async renewLease(teamId: string, id: string, leaseMs: number): Promise<void> {
    await this.repo.query(
      `UPDATE messages SET lease_expires_at = now() + ($3 || ' milliseconds')::interval WHERE id = $1 AND team_id = $2 AND status = 'streaming'`,
      [id, teamId, String(leaseMs)],
    );
  }

  /** Final write of a generation. Returns false when the message was no longer streaming. */
  async finish(teamId: string, id: string, s: FinalState, onlyIfLeaseExpired = false): Promise<boolean> {
    const res: [unknown[], number] = await this.repo.query(
      `UPDATE messages
          SET status = $3, content = CASE WHEN $10::boolean THEN content || $4 ELSE $4 END, error_code = $5, error_message = $6, model = COALESCE($7, model), usage = $8::jsonb,
              final_event_id = $9, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
        WHERE id = $1 AND team_id = $2 AND status = 'streaming'
          ${onlyIfLeaseExpired ? 'AND (lease_expires_at IS NULL OR lease_expires_at < now())' : ''}
        RETURNING id`,
      [id, teamId, s.status, s.persistedLength ? s.content.slice(s.persistedLength) : s.content, s.errorCode ?? null, s.errorMessage?.slice(0, 500) ?? null, s.model ?? null, s.usage ? JSON.stringify(s.usage) : null, s.finalEventId ?? null, Boolean(s.persistedLength)],
    );
    return res[1] > 0;
  }

  /** `streaming` messages whose job stopped renewing its lease (any team: used by the sweeper only). */
  async findStale(limit: number): Promise<{ id: string; teamId: string; content: string }[]> {
    return this.repo.query(
      `SELECT id, team_id AS "teamId", content FROM messages
        WHERE status = 'streaming' AND (lease_expires_at IS NULL OR lease_expires_at < now())
        ORDER BY lease_expires_at NULLS FIRST LIMIT $1`,
      [limit],
    );
  }

  /** Generations of one user that are running (streaming with a live lease). */
  async countActiveForOwner(teamId: string, ownerId: string): Promise<number> {
    const rows: { n: number }[] = await this.repo.query(
      `SELECT count(*)::int AS n FROM messages m JOIN chats c ON c.id = m.chat_id
        WHERE m.team_id = $1 AND c.team_id = $1 AND c.owner_id = $2 AND m.status = 'streaming' AND m.lease_expires_at > now()`,
      [teamId, ownerId],
    );
    return rows[0]?.n ?? 0;
  }

  /** Creation times of the user's messages in the last `windowMs` (oldest first), for the rate limit. */
  async recentUserMessageTimes(teamId: string, ownerId: string, windowMs: number): Promise<Date[]> {
    const rows: { t: Date }[] = await this.repo.query(
      `SELECT m.created_at AS t FROM messages m JOIN chats c ON c.id = m.chat_id
        WHERE m.team_id = $1 AND c.team_id = $1 AND c.owner_id = $2 AND m.role = 'assistant'
          AND m.created_at > now() - ($3 || ' milliseconds')::interval
        ORDER BY m.created_at ASC`,
      [teamId, ownerId, String(windowMs)],
    );
    return rows.map((r) => new Date(r.t));
  }

  /** Ranked full-text matches over the owner's messages, with highlighted snippets. */
  search(teamId: string, ownerId: string, query: string, limit: number): Promise<{ chatId: string; messageId: string; snippet: string; rank: number }[]> {
    return this.repo.query(
      `SELECT m.chat_id AS "chatId", m.id AS "messageId",
              ts_headline('english', m.content, q, 'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2') AS snippet,
              ts_rank(m.search, q)::float8 AS rank
         FROM messages m
         JOIN chats c ON c.id = m.chat_id AND c.team_id = $1 AND c.owner_id = $2,
              websearch_to_tsquery('english', $3) q
        WHERE m.team_id = $1 AND m.search @@ q
        ORDER BY rank DESC, m.created_at DESC
        LIMIT $4`,
      [teamId, ownerId, query, limit],
    );
  }

  async idsInChat(teamId: string, chatId: string, ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await this.repo.find({ select: { id: true }, where: { teamId, chatId, id: In(ids) } });
    return new Set(rows.map((r) => r.id));
  }
}
