import { ChatResponseDto, MessageResponseDto } from 'src/chats/dto/chat-responses.dto';
import { Chat } from 'src/chats/entities/chat.entity';
import { Message } from 'src/chats/entities/message.entity';

export function toChatResponse(c: Chat): ChatResponseDto {
  return {
    id: c.id,
    agentId: c.agentId,
    title: c.title,
    metadata: c.metadata ?? {},
    isArchived: c.isArchived,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

export function toMessageResponse(m: Message): MessageResponseDto {
  const out: MessageResponseDto = {
    id: m.id,
    chatId: m.chatId,
    parentId: m.parentId,
    role: m.role,
    content: m.content,
    status: m.status,
    createdAt: new Date(m.createdAt).toISOString(),
  };
  if (m.errorCode) out.error = { code: m.errorCode, message: m.errorMessage ?? '' };
  if (m.model) out.model = m.model;
  if (m.usage) out.usage = m.usage;
  if (m.toolCalls?.length) out.toolCalls = m.toolCalls;
  if (m.routing) out.routing = m.routing;
  if (m.clientMessageId) out.clientMessageId = m.clientMessageId;
  return out;
}

const byAge = (a: Message, b: Message) =>
  new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime() || (a.id < b.id ? -1 : 1);

/** Every message, parents before children, siblings oldest first (depth-first). */
export function treeOrder(all: Message[]): Message[] {
  const children = new Map<string | null, Message[]>();
  const ids = new Set(all.map((m) => m.id));
  for (const m of [...all].sort(byAge)) {
    const parent = m.parentId && ids.has(m.parentId) ? m.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), m]);
  }
  const out: Message[] = [];
  const stack = [...(children.get(null) ?? [])].reverse();
  while (stack.length) {
    const m = stack.pop() as Message;
    out.push(m);
    stack.push(...[...(children.get(m.id) ?? [])].reverse());
  }
  return out;
}

/** The most recently created leaf (a message without children), or null for an empty chat. */
export function latestLeaf(all: Message[]): Message | null {
  const parents = new Set(all.map((m) => m.parentId).filter(Boolean));
  const leaves = all.filter((m) => !parents.has(m.id)).sort(byAge);
  return leaves.length ? leaves[leaves.length - 1] : null;
}

/** The path from the root to `leafId`, oldest first. */
export function branchTo(all: Message[], leafId: string | null): Message[] {
  const byId = new Map(all.map((m) => [m.id, m]));
  const path: Message[] = [];
  let cur = leafId ? byId.get(leafId) : undefined;
  while (cur && path.length <= all.length) {
    path.push(cur);
    cur = cur.parentId ? byId.get(cur.parentId) : undefined;
  }
  return path.reverse();
}

/** From `id` down to its most recent descendant leaf (following the newest child at each step). */
export function latestLeafUnder(all: Message[], id: string): string {
  const children = new Map<string, Message[]>();
  for (const m of all) if (m.parentId) children.set(m.parentId, [...(children.get(m.parentId) ?? []), m]);
  let cur = id;
  for (let i = 0; i <= all.length; i++) {
    const kids = children.get(cur);
    if (!kids?.length) break;
    cur = kids.sort(byAge)[kids.length - 1].id;
  }
  return cur;
}
