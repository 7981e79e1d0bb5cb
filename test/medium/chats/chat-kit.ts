import { StreamCursor } from 'src/streaming/stream-cursor';
import { randomUUID } from 'node:crypto';
import { firstValueFrom, Observable, take, toArray } from 'rxjs';
import { AgentsService } from 'src/agents/agents.service';
import { CreateAgentDto } from 'src/agents/dto/create-agent.dto';
import { ChatsService } from 'src/chats/chats.service';
import { MessagesService } from 'src/chats/messages.service';
import { AuthUser } from 'src/common/auth-user';
import { SseFrame } from 'src/common/sse/sse-format';

/** Medium-tier helpers: services of a real app, called as a user without going through HTTP. */
export function fakeUser(teamId: string = randomUUID(), role: 'admin' | 'user' = 'admin'): AuthUser {
  return {
    id: randomUUID(),
    teamId,
    role,
    email: `${randomUUID()}@example.com`,
    jti: randomUUID(),
    exp: Math.floor(Date.now() / 1000) + 3600,
  };
}

export async function createMockAgent(
  agents: AgentsService,
  admin: AuthUser,
  config: Record<string, unknown> = {},
): Promise<string> {
  const dto = {
    name: `mock-${randomUUID().slice(0, 8)}`,
    provider: 'mock',
    model: 'mock-1',
    config: { mockDeltas: 20, mockDelayMs: 0, ...config },
  } as CreateAgentDto;
  return (await agents.create(admin, dto)).id;
}

export async function createChat(chats: ChatsService, user: AuthUser, agentId: string): Promise<string> {
  return (await chats.create(user, { agentId, title: 'Medium chat' })).id;
}

/** Every frame of a message's stream after `lastEventId`, until it ends. */
export async function allFrames(
  messages: MessagesService,
  user: AuthUser,
  chatId: string,
  messageId: string,
  lastEventId: string | null,
  max?: number,
): Promise<SseFrame[]> {
  const frames = (await messages.openStream(
    user,
    chatId,
    messageId,
    StreamCursor.parse(lastEventId),
  )) as Observable<SseFrame>;
  if (!frames) return [];
  return firstValueFrom((max ? frames.pipe(take(max)) : frames).pipe(toArray()));
}

export const contentOf = (frames: SseFrame[]): string =>
  frames
    .filter((f) => f.type === 'message')
    .map((f) => (f.data as { content: string }).content)
    .join('');
