import { Injectable } from '@nestjs/common';
import { AgentsService } from 'src/agents/agents.service';
import {
  branchTo,
  latestLeaf,
  latestLeafUnder,
  toChatResponse,
  toMessageResponse,
  treeOrder,
} from 'src/chats/chat.mapper';
import { ChatRepository } from 'src/chats/chat.repository';
import { assertValidMetadata } from 'src/chats/chat-metadata';
import { ChatErrors } from 'src/chats/chats.errors';
import {
  CreateChatDto,
  ExportChatQueryDto,
  ListChatsQueryDto,
  SearchChatsQueryDto,
  UpdateChatDto,
} from 'src/chats/dto/chat-requests.dto';
import {
  ChatDetailDto,
  ChatListDto,
  ChatResponseDto,
  ChatTreeDto,
  SearchResultDto,
} from 'src/chats/dto/chat-responses.dto';
import { Chat } from 'src/chats/entities/chat.entity';
import { MessageRepository } from 'src/chats/message.repository';
import { AuditService } from 'src/common/audit/audit.service';
import { AuthUser } from 'src/common/auth-user';
import { mapPage } from 'src/common/pagination/keyset';

export interface ChatExport {
  fileName: string;
  contentType: string;
  body: string;
}

/** Chats of the caller: CRUD, the message tree, search and export. Another user's chat is a 404. */
@Injectable()
export class ChatsService {
  constructor(
    private readonly chats: ChatRepository,
    private readonly messages: MessageRepository,
    private readonly agents: AgentsService,
    private readonly audit: AuditService,
  ) {}

  /** The caller's chat or a 404 (also for another user's or another team's chat). */
  async requireOwned(user: AuthUser, chatId: string): Promise<Chat> {
    const chat = await this.chats.findOwned(user.teamId, user.id, chatId);
    if (!chat) throw ChatErrors.notFound();
    return chat;
  }

  async create(user: AuthUser, dto: CreateChatDto): Promise<ChatResponseDto> {
    assertValidMetadata(dto.metadata);
    await this.agents.requireReferenced(user.teamId, dto.agentId, 'agentId');
    const chat = await this.chats.create(user.teamId, user.id, {
      agentId: dto.agentId,
      title: dto.title ?? 'New chat',
      metadata: dto.metadata ?? {},
    });
    return toChatResponse(chat);
  }

  async list(user: AuthUser, q: ListChatsQueryDto): Promise<ChatListDto> {
    const page = await this.chats.listForOwner(user.teamId, user.id, {
      archived: q.archived,
      titleContains: q.q?.trim() || undefined,
      limit: q.limit ?? 20,
      cursor: q.cursor,
    });
    return mapPage(page, toChatResponse);
  }

  /** The caller's chats tagged `metadata[key] = value` (newest first, at most `limit`): compat surfaces' conversations. */
  async listTagged(user: AuthUser, key: string, value: string, limit: number): Promise<ChatResponseDto[]> {
    const page = await this.chats.listForOwner(user.teamId, user.id, { metadataEquals: { key, value }, limit });
    return page.items.map(toChatResponse);
  }

  /** The chat (owned by the caller) if `metadata[key] = value`; 404 otherwise. */
  async requireTagged(user: AuthUser, chatId: string, key: string, value: string): Promise<Chat> {
    const chat = await this.requireOwned(user, chatId);
    if ((chat.metadata as Record<string, unknown>)?.[key] !== value) throw ChatErrors.notFound();
    return chat;
  }

  async get(user: AuthUser, chatId: string, leafId?: string): Promise<ChatDetailDto> {
    const chat = await this.requireOwned(user, chatId);
    const all = await this.messages.listForChat(user.teamId, chatId);
    if (leafId && !all.some((m) => m.id === leafId)) throw ChatErrors.messageRefNotFound('leafId');
    const leaf = leafId ? latestLeafUnder(all, leafId) : (latestLeaf(all)?.id ?? null);
    return { ...toChatResponse(chat), messages: branchTo(all, leaf).map(toMessageResponse) };
  }

  async tree(user: AuthUser, chatId: string): Promise<ChatTreeDto> {
    await this.requireOwned(user, chatId);
    const all = await this.messages.listForChat(user.teamId, chatId);
    return { chatId, currentLeafId: latestLeaf(all)?.id ?? null, items: treeOrder(all).map(toMessageResponse) };
  }

  async update(user: AuthUser, chatId: string, dto: UpdateChatDto): Promise<ChatResponseDto> {
    await this.requireOwned(user, chatId);
    assertValidMetadata(dto.metadata);
    await this.chats.update(user.teamId, user.id, chatId, {
      title: dto.title,
      metadata: dto.metadata,
      isArchived: dto.isArchived,
    });
    return toChatResponse(await this.requireOwned(user, chatId));
  }

  async delete(user: AuthUser, chatId: string): Promise<void> {
    const chat = await this.requireOwned(user, chatId);
    await this.chats.delete(user.teamId, user.id, chatId);
    await this.audit.record({
      action: 'chat.delete',
      teamId: user.teamId,
      userId: user.id,
      metadata: { chatId, title: chat.title },
    });
  }

  /** Ranked matches over the caller's message contents and chat titles. */
  async search(user: AuthUser, q: SearchChatsQueryDto): Promise<SearchResultDto> {
    const limit = q.limit ?? 20;
    const [messages, titles] = await Promise.all([
      this.messages.search(user.teamId, user.id, q.q, limit),
      this.chats.searchTitles(user.teamId, user.id, q.q, limit),
    ]);
    const items = [...messages, ...titles.map((t) => ({ ...t, messageId: null }))]
      .map((h) => ({ ...h, rank: Number(h.rank) }))
      .sort((a, b) => b.rank - a.rank)
      .slice(0, limit);
    return { items };
  }

  async export(user: AuthUser, chatId: string, q: ExportChatQueryDto): Promise<ChatExport> {
    const detail = await this.get(user, chatId);
    const base = `chat-${slug(detail.title)}-${detail.id.slice(0, 8)}`;
    if (q.format === 'json') {
      return {
        fileName: `${base}.json`,
        contentType: 'application/json; charset=utf-8',
        body: JSON.stringify(detail, null, 2),
      };
    }
    const lines = [
      `# ${detail.title}`,
      '',
      `- Chat: ${detail.id}`,
      `- Created: ${detail.createdAt}`,
      `- Exported: ${new Date().toISOString()}`,
      '',
    ];
    for (const m of detail.messages) {
      const note = m.status === 'complete' ? '' : ` (${m.status}${m.error ? `: ${m.error.code}` : ''})`;
      lines.push(
        `## ${m.role === 'user' ? 'User' : m.role === 'assistant' ? 'Assistant' : 'System'}${note}`,
        '',
        `_${m.createdAt}_`,
        '',
        m.content,
        '',
      );
    }
    return { fileName: `${base}.md`, contentType: 'text/markdown; charset=utf-8', body: lines.join('\n') };
  }
}

function slug(title: string): string {
  return (
    title
      .normalize('NFKD')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'untitled'
  );
}
