import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import {
  Message,
  MessageRouting,
  MessageStatus,
  MessageToolCall,
  MessageUsage,
} from 'src/chats/entities/message.entity';
import { UsageCharge } from 'src/chats/usage.repository';
import { WriteBatcher } from 'src/database/write-batcher';

export interface NewExchange {
  teamId: string;
  chatId: string;
  /** Ids are chosen by the caller, so that the reply's job can start while the rows are being stored. */
  assistantId: string;
  /** The user message to store first (absent for regenerate). */
  user?: { id: string; parentId: string | null; content: string; clientMessageId: string | null };
  /** Parent of the assistant message when there is no user message (regenerate). */
  assistantParentId?: string | null;
  agentId: string;
  leaseOwner: string;
  leaseMs: number;
}

export type StoredExchange =
  | { kind: 'stored'; user: Message | null; assistant: Message }
  /** The client message id exists already (a concurrent duplicate): nothing was stored. */
  | { kind: 'duplicate' }
  /** The chat was deleted meanwhile: nothing was stored. */
  | { kind: 'chat-gone' };

export interface FinalState {
  status: Exclude<MessageStatus, 'streaming'>;
  content: string;
  errorCode?: string | null;
  errorMessage?: string | null;
  model?: string | null;
  usage?: MessageUsage | null;
  finalEventId?: string | null;
  toolCalls?: MessageToolCall[] | null;
  routing?: MessageRouting | null;
  /** The first `persistedLength` code units of `content` are already stored: append only the rest. */
  persistedLength?: number;
  /**
   * Tokens to add to the message's team's monthly ledger in the same statement, whether or not the message
   * was still streaming (ChatLimitsService.charge).
   */
  charge?: UsageCharge | null;
}

/** A message of a send's context (SendContext.branch). */
export type BranchMessage = Pick<Message, 'id' | 'parentId' | 'role' | 'content'>;

export interface SendContext {
  chat: { id: string; agentId: string };
  /** Oldest first, ending at the start message; at most the limit asked for (the newest ones). */
  branch: BranchMessage[];
}

/**
 * A named prepared statement for `repo.query` (node-postgres's `{ name, text }` query config, passed through
 * TypeORM's query runner as is). Each pooled connection parses it once; after five executions PostgreSQL
 * keeps a generic plan when it costs no more than the custom ones, so a call no longer plans the statement
 * again (the send's recursive CTE: 0.6–0.9 ms of planning per call, 0.02 ms with the generic plan;
 * docs/decisions.md). One name per text: node-postgres refuses a name reused with another text.
 * `toString` gives the text to TypeORM's logging and errors.
 */
const prepared = (name: string, text: string): string => ({ name, text, toString: () => text }) as unknown as string;

/** Messages of a chat. Every method is scoped by team (and chat where it reads a chat's messages). */
@Injectable()
export class MessageRepository implements OnModuleDestroy {
  /** Progress writes and lease renewals of every generating message of this process: one statement per batch. */
  private readonly progress = new WriteBatcher<ProgressWrite, void>((rows) => this.writeProgress(rows), {
    maxBatch: MAX_BATCH,
    key: (r) => r.id,
  });
  /** Final writes of the replies finishing together: one statement per batch. */
  private readonly finals = new WriteBatcher<FinalRow, boolean>((rows) => this.writeFinals(rows), {
    maxBatch: MAX_BATCH,
    key: (r) => r.id,
  });

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
    return this.repo.findOne({
      where: { teamId, chatId, parentId: userMessageId, role: 'assistant' },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
  }

  /**
   * What a send needs, in one round trip: the owned chat's agent and the branch the reply continues, read
   * by walking `parent_id` up from its start (a recursive CTE on the primary key), at most `limit` messages
   * (the newest), oldest first. So a send reads the context it sends, not the whole chat (issue 18).
   * `start`: a message id, or 'latest' for the chat's most recently created leaf. That is the newest message
   * (one probe of idx_messages_chat_created backwards, one of idx_messages_parent), since a reply is
   * created after its parent; should the newest have a child all the same (clocks of two instances apart),
   * a second query searches the leaves. Null when the chat is not the caller's; `branch` empty when the
   * start message is not in the chat (or the chat is empty). Plans: docs/performance.md.
   */
  async sendContext(
    teamId: string,
    ownerId: string,
    chatId: string,
    start: string /* a message id or 'latest' */,
    limit: number,
  ): Promise<SendContext | null> {
    const startSql =
      start === 'latest'
        ? `n AS (
             SELECT newest.id, EXISTS (SELECT 1 FROM messages k WHERE k.parent_id = newest.id) AS has_child
               FROM (SELECT m.id FROM messages m WHERE m.chat_id = $1 AND m.team_id = $2 ORDER BY m.created_at DESC, m.id DESC LIMIT 1) newest
           ), s AS (SELECT id FROM n WHERE NOT has_child)`
        : `n AS (SELECT false AS has_child), s AS (SELECT m.id FROM messages m WHERE m.id = $5::uuid AND m.chat_id = $1 AND m.team_id = $2)`;
    type Row = {
      agentId: string;
      newestHasChild: boolean | null;
      id: string | null;
      parentId: string | null;
      role: Message['role'] | null;
      content: string | null;
    };
    const text = `WITH RECURSIVE c AS (
         SELECT id, agent_id FROM chats WHERE id = $1 AND team_id = $2 AND owner_id = $3
       ), ${startSql}, b AS (
         SELECT m.id, m.parent_id, m.role, m.content, 1 AS depth FROM messages m JOIN s ON m.id = s.id
         UNION ALL
         SELECT p.id, p.parent_id, p.role, p.content, b.depth + 1
           FROM b JOIN messages p ON p.id = b.parent_id AND p.chat_id = $1 AND p.team_id = $2
          WHERE b.depth < $4
       )
       SELECT c.agent_id AS "agentId", (SELECT has_child FROM n) AS "newestHasChild", b.id, b.parent_id AS "parentId", b.role, b.content
         FROM c LEFT JOIN b ON true
        ORDER BY b.depth DESC`;
    const rows: Row[] = await this.repo.query(
      prepared(start === 'latest' ? 'send_context_latest' : 'send_context_from', text),
      start === 'latest' ? [chatId, teamId, ownerId, limit] : [chatId, teamId, ownerId, limit, start],
    );
    if (!rows.length) return null;
    if (start === 'latest' && rows[0].newestHasChild) {
      const leaf = await this.latestLeafId(teamId, chatId);
      if (leaf) return this.sendContext(teamId, ownerId, chatId, leaf, limit);
    }
    const branch = rows
      .filter((r) => r.id !== null)
      .map((r) => ({
        id: r.id as string,
        parentId: r.parentId,
        role: r.role as Message['role'],
        content: r.content ?? '',
      }));
    return { chat: { id: chatId, agentId: rows[0].agentId }, branch };
  }

  /** The most recently created message without children (the slow search: see sendContext). */
  async latestLeafId(teamId: string, chatId: string): Promise<string | null> {
    const rows: { id: string }[] = await this.repo.query(
      `SELECT m.id FROM messages m
        WHERE m.chat_id = $1 AND m.team_id = $2 AND NOT EXISTS (SELECT 1 FROM messages k WHERE k.parent_id = m.id)
        ORDER BY m.created_at DESC, m.id DESC LIMIT 1`,
      [chatId, teamId],
    );
    return rows[0]?.id ?? null;
  }

  /** Every message of the chat, oldest first. */
  listForChat(teamId: string, chatId: string): Promise<Message[]> {
    return this.repo.find({ where: { teamId, chatId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /**
   * Stores the user message (if any) and an empty `streaming` assistant message holding a lease, and
   * touches the chat, in one statement (atomic, one round trip). The reply sorts after its question:
   * it is created 1 ms after it, though both share the statement's now(). (The chat update runs although
   * the final SELECT does not read it: PostgreSQL runs every data-modifying WITH to completion.)
   */
  async insertExchange(x: NewExchange): Promise<StoredExchange> {
    try {
      if (x.user) {
        const rows = await this.queryNamed<{ userCreatedAt: Date; createdAt: Date; updatedAt: Date }[]>(
          `WITH u AS (
             INSERT INTO messages (id, team_id, chat_id, parent_id, role, content, status, client_message_id)
             VALUES (:userId, :teamId, :chatId, :parentId, 'user', :content, 'complete', :clientMessageId)
             ON CONFLICT DO NOTHING
             RETURNING id, created_at
           ), a AS (
             INSERT INTO messages (id, team_id, chat_id, parent_id, role, content, status, agent_id,
                                   lease_owner, lease_expires_at, created_at, updated_at)
             SELECT :assistantId, :teamId, :chatId, u.id, 'assistant', '', 'streaming', :agentId,
                    :leaseOwner, now() + (:leaseMs || ' milliseconds')::interval, u.created_at + interval '1 millisecond', now()
               FROM u
             RETURNING created_at, updated_at
           ), t AS (
             UPDATE chats SET updated_at = now() WHERE id = :chatId AND team_id = :teamId AND EXISTS (SELECT 1 FROM a) RETURNING id
           )
           SELECT u.created_at AS "userCreatedAt", a.created_at AS "createdAt", a.updated_at AS "updatedAt" FROM u, a`,
          {
            userId: x.user.id,
            teamId: x.teamId,
            chatId: x.chatId,
            parentId: x.user.parentId,
            content: x.user.content,
            clientMessageId: x.user.clientMessageId,
            assistantId: x.assistantId,
            agentId: x.agentId,
            leaseOwner: x.leaseOwner,
            leaseMs: String(x.leaseMs),
          },
        );
        if (!rows.length) return { kind: 'duplicate' };
        const { userCreatedAt, createdAt, updatedAt } = rows[0];
        const user = this.repo.create({
          id: x.user.id,
          teamId: x.teamId,
          chatId: x.chatId,
          parentId: x.user.parentId,
          role: 'user',
          content: x.user.content,
          status: 'complete',
          clientMessageId: x.user.clientMessageId,
          createdAt: new Date(userCreatedAt),
          updatedAt: new Date(userCreatedAt),
        });
        return {
          kind: 'stored',
          user: withDefaults(user),
          assistant: this.newAssistant(x, x.user.id, createdAt, updatedAt),
        };
      }
      const rows: { createdAt: Date; updatedAt: Date }[] = await this.repo.query(
        `WITH a AS (
           INSERT INTO messages (id, team_id, chat_id, parent_id, role, content, status, agent_id, lease_owner, lease_expires_at)
           VALUES ($1, $2, $3, $4, 'assistant', '', 'streaming', $5, $6, now() + ($7 || ' milliseconds')::interval)
           RETURNING created_at, updated_at
         ), t AS (
           UPDATE chats SET updated_at = now() WHERE id = $3 AND team_id = $2 RETURNING id
         )
         SELECT a.created_at AS "createdAt", a.updated_at AS "updatedAt" FROM a`,
        [x.assistantId, x.teamId, x.chatId, x.assistantParentId ?? null, x.agentId, x.leaseOwner, String(x.leaseMs)],
      );
      return {
        kind: 'stored',
        user: null,
        assistant: this.newAssistant(x, x.assistantParentId ?? null, rows[0].createdAt, rows[0].updatedAt),
      };
    } catch (err) {
      // The chat (or the parent message) was deleted between the read and this insert.
      if ((err as { driverError?: { code?: string } }).driverError?.code === '23503') return { kind: 'chat-gone' };
      throw err;
    }
  }

  private newAssistant(x: NewExchange, parentId: string | null, createdAt: Date, updatedAt: Date): Message {
    return withDefaults(
      this.repo.create({
        id: x.assistantId,
        teamId: x.teamId,
        chatId: x.chatId,
        parentId,
        role: 'assistant',
        content: '',
        status: 'streaming',
        agentId: x.agentId,
        createdAt: new Date(createdAt),
        updatedAt: new Date(updatedAt),
      }),
    );
  }

  /** Persists accumulated content of a generating message and extends its lease (only while it streams). */
  async saveProgress(teamId: string, id: string, content: string, leaseMs: number): Promise<void> {
    await this.progress.submit({ teamId, id, kind: 'full', text: content, leaseMs });
  }

  /** Appends a batch of new content (the writer rewrites everything after a failed append). */
  async appendProgress(teamId: string, id: string, part: string, leaseMs: number): Promise<void> {
    await this.progress.submit({ teamId, id, kind: 'append', text: part, leaseMs });
  }

  /** Extends a generating message's lease (its content and updated_at stay). */
  async renewLease(teamId: string, id: string, leaseMs: number): Promise<void> {
    await this.progress.submit({ teamId, id, kind: 'renew', text: '', leaseMs });
  }

  /**
   * Final write of a generation. Returns false when the message was no longer streaming. A job's final
   * write joins those of the other replies finishing at the same time (one statement); `onlyIfLeaseExpired`
   * (the sweeper's) is written on its own.
   */
  async finish(teamId: string, id: string, s: FinalState, onlyIfLeaseExpired = false): Promise<boolean> {
    const row = finalRow(teamId, id, s);
    if (!onlyIfLeaseExpired) return this.finals.submit(row);
    const [written] = await this.writeFinals([row], true);
    return written;
  }

  /** Graceful shutdown: buffered and in-flight writes finish before the database closes. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all([this.progress.flush(), this.finals.flush()]);
  }

  /**
   * Progress writes and lease renewals of many generating messages in one statement. Each row keeps the
   * single-row semantics: only a `streaming` message of its team, `append` adds its part, `full` replaces
   * the content, `renew` leaves content and updated_at alone; every row extends the lease from now().
   */
  private async writeProgress(rows: ProgressWrite[]): Promise<void[]> {
    const params: unknown[] = [];
    const values = rows.map((r) => {
      params.push(r.id, r.teamId, r.kind, r.text, r.leaseMs);
      const n = params.length;
      return `($${n - 4}::uuid, $${n - 3}::uuid, $${n - 2}::text, $${n - 1}::text, $${n}::int)`;
    });
    await this.repo.query(
      `UPDATE messages m
          SET content = CASE v.kind WHEN 'append' THEN m.content || v.part WHEN 'full' THEN v.part ELSE m.content END,
              lease_expires_at = now() + v.lease_ms * interval '1 millisecond',
              updated_at = CASE WHEN v.kind = 'renew' THEN m.updated_at ELSE now() END
         FROM (VALUES ${values.join(', ')}) v(id, team_id, kind, part, lease_ms)
        WHERE m.id = v.id AND m.team_id = v.team_id AND m.status = 'streaming'`,
      params,
    );
    return rows.map(() => undefined);
  }

  /**
   * Final writes of many messages in one statement; per row, whether it was written (the message was still
   * streaming). The rows' usage charges are added to their teams' ledgers in the same statement (summed per
   * team and month: an upsert cannot touch a row twice), whether or not their message was written.
   */
  private async writeFinals(rows: FinalRow[], onlyIfLeaseExpired = false): Promise<boolean[]> {
    const casts = FINAL_COLUMNS.map(([, cast]) => cast);
    const params: unknown[] = [];
    const values = rows.map((r) => {
      const first = params.length + 1;
      params.push(r.id, r.teamId, r.status, r.append, r.content, r.errorCode, r.errorMessage, r.model, r.usage);
      params.push(r.finalEventId, r.toolCalls, r.routing, r.chargePeriod, r.chargePrompt, r.chargeCompletion);
      return `(${casts.map((c, i) => `$${first + i}::${c}`).join(', ')})`;
    });
    const charges = rows.some((r) => r.chargePeriod)
      ? `, u AS (
           INSERT INTO team_token_usage (team_id, period, prompt_tokens, completion_tokens)
           SELECT team_id, charge_period, sum(charge_prompt), sum(charge_completion)
             FROM v WHERE charge_period IS NOT NULL GROUP BY team_id, charge_period
           ON CONFLICT (team_id, period) DO UPDATE
             SET prompt_tokens = team_token_usage.prompt_tokens + EXCLUDED.prompt_tokens,
                 completion_tokens = team_token_usage.completion_tokens + EXCLUDED.completion_tokens,
                 updated_at = now()
         )`
      : '';
    const written: { id: string }[] = await this.repo.query(
      `WITH v (${FINAL_COLUMNS.map(([name]) => name).join(', ')}) AS (VALUES ${values.join(', ')}), f AS (
         UPDATE messages m
            SET status = v.status,
                content = CASE WHEN v.append THEN m.content || v.content ELSE v.content END,
                error_code = v.error_code,
                error_message = v.error_message,
                model = COALESCE(v.model, m.model),
                usage = v.usage,
                final_event_id = v.final_event_id,
                tool_calls = COALESCE(v.tool_calls, m.tool_calls),
                routing = COALESCE(v.routing, m.routing),
                lease_owner = NULL,
                lease_expires_at = NULL,
                updated_at = now()
           FROM v
          WHERE m.id = v.id AND m.team_id = v.team_id AND m.status = 'streaming'
            ${onlyIfLeaseExpired ? 'AND (m.lease_expires_at IS NULL OR m.lease_expires_at < now())' : ''}
          RETURNING m.id
       )${charges}
       SELECT id FROM f`,
      params,
    );
    const ids = new Set(written.map((r) => r.id));
    return rows.map((r) => ids.has(r.id));
  }

  /** Runs SQL written with `:name` parameters (TypeORM's driver numbers them; a name used twice is sent once). */
  private queryNamed<T>(sql: string, parameters: Record<string, unknown>): Promise<T> {
    const [numbered, values] = this.repo.manager.connection.driver.escapeQueryWithParameters(sql, parameters);
    return this.repo.query<T>(numbered, values);
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

  /** The user's generations started in the last `windowMs` (assistant messages, oldest first): seeds the rate limit. */
  async recentGenerationStarts(teamId: string, ownerId: string, windowMs: number): Promise<{ id: string; at: Date }[]> {
    const rows: { id: string; at: Date }[] = await this.repo.query(
      `SELECT m.id, m.created_at AS at FROM messages m JOIN chats c ON c.id = m.chat_id
        WHERE m.team_id = $1 AND c.team_id = $1 AND c.owner_id = $2 AND m.role = 'assistant'
          AND m.created_at > now() - ($3 || ' milliseconds')::interval
        ORDER BY m.created_at ASC`,
      [teamId, ownerId, String(windowMs)],
    );
    return rows.map((r) => ({ id: r.id, at: new Date(r.at) }));
  }

  /** Ranked full-text matches over the owner's messages, with highlighted snippets. */
  search(
    teamId: string,
    ownerId: string,
    query: string,
    limit: number,
  ): Promise<{ chatId: string; messageId: string; snippet: string; rank: number }[]> {
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

/** Columns the database fills with their defaults, for a message built from an insert's parameters. */
function withDefaults(m: Message): Message {
  m.errorCode ??= null;
  m.errorMessage ??= null;
  m.model ??= null;
  m.agentId ??= null;
  m.usage ??= null;
  m.clientMessageId ??= null;
  m.finalEventId ??= null;
  return m;
}

/** Rows per batched statement (15 parameters per final write: 7,500 of PostgreSQL's 65,535). */
const MAX_BATCH = 500;

/** One message's progress write or lease renewal (MessageRepository.writeProgress). */
interface ProgressWrite {
  teamId: string;
  id: string;
  kind: 'append' | 'full' | 'renew';
  /** The part to append, or the whole content. */
  text: string;
  leaseMs: number;
}

/** One message's final write, as the statement's parameters (MessageRepository.writeFinals). */
interface FinalRow {
  teamId: string;
  id: string;
  status: string;
  append: boolean;
  content: string;
  errorCode: string | null;
  errorMessage: string | null;
  model: string | null;
  usage: string | null;
  finalEventId: string | null;
  toolCalls: string | null;
  routing: string | null;
  chargePeriod: string | null;
  chargePrompt: number;
  chargeCompletion: number;
}

/** The columns of a final write's row in the batched statement, with their parameters' types. */
const FINAL_COLUMNS = [
  ['id', 'uuid'],
  ['team_id', 'uuid'],
  ['status', 'text'],
  ['append', 'boolean'],
  ['content', 'text'],
  ['error_code', 'text'],
  ['error_message', 'text'],
  ['model', 'text'],
  ['usage', 'jsonb'],
  ['final_event_id', 'text'],
  ['tool_calls', 'jsonb'],
  ['routing', 'jsonb'],
  ['charge_period', 'date'],
  ['charge_prompt', 'bigint'],
  ['charge_completion', 'bigint'],
] as const;

function finalRow(teamId: string, id: string, s: FinalState): FinalRow {
  return {
    teamId,
    id,
    status: s.status,
    // After progress writes, only the part not yet persisted is appended.
    append: Boolean(s.persistedLength),
    content: s.persistedLength ? s.content.slice(s.persistedLength) : s.content,
    errorCode: s.errorCode ?? null,
    errorMessage: s.errorMessage?.slice(0, 500) ?? null,
    model: s.model ?? null,
    usage: s.usage ? JSON.stringify(s.usage) : null,
    finalEventId: s.finalEventId ?? null,
    toolCalls: s.toolCalls?.length ? JSON.stringify(s.toolCalls) : null,
    routing: s.routing ? JSON.stringify(s.routing) : null,
    chargePeriod: s.charge?.period ?? null,
    chargePrompt: s.charge?.promptTokens ?? 0,
    chargeCompletion: s.charge?.completionTokens ?? 0,
  };
}
