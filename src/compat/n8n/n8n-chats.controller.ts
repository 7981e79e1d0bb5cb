import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Put, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ChatErrors } from 'src/chats/chats.errors';
import { ChatsService } from 'src/chats/chats.service';
import { CreateChatDto, SendMessageDto, UpdateChatDto } from 'src/chats/dto/chat-requests.dto';
import { MessagesService } from 'src/chats/messages.service';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { StreamingEndpoint } from 'src/common/decorators/streaming-endpoint.decorator';
import { validateAs } from 'src/common/pipes/validation.pipe';
import { SseResponder } from 'src/common/sse/sse-responder';
import { N8nCreateChatDto, N8nSendMessageDto, N8nUpdateChatDto } from 'src/compat/n8n/dto/n8n-requests.dto';
import { N8N_PREFIX, N8nCompatController } from 'src/compat/n8n/n8n-compat';
import {
  allPages,
  N8nChat,
  toCreateChat,
  toN8nChat,
  toN8nEvents,
  toSendMessage,
  toUpdateChat,
} from 'src/compat/n8n/n8n.mapper';

/** A malformed id cannot name an existing chat: 404 like any other unknown id (as on the canonical routes). */
const ChatId = () => Param('id', new ParseUUIDPipe({ exceptionFactory: () => ChatErrors.notFound() }));

/** The seed's chats over ChatsService and MessagesService: the caller's own chats only. */
@N8nCompatController()
@Controller(`${N8N_PREFIX}/api/chats`)
export class N8nChatsController {
  constructor(
    private readonly chats: ChatsService,
    private readonly messages: MessagesService,
    private readonly sse: SseResponder,
  ) {}

  /** An array of the caller's chats, most recent first, without their messages (GET /api/chats/:id has them). */
  @Get()
  async list(@CurrentUser() user: AuthUser): Promise<N8nChat[]> {
    const all = await allPages((cursor) => this.chats.list(user, { limit: 100, cursor }));
    return all.map((c) => toN8nChat(c, user));
  }

  @Post()
  @HttpCode(201)
  async create(@CurrentUser() user: AuthUser, @Body() body: N8nCreateChatDto): Promise<N8nChat> {
    const chat = await this.chats.create(user, await validateAs(CreateChatDto, toCreateChat(body)));
    return toN8nChat({ ...chat, messages: [] }, user);
  }

  /** The chat with its messages `{role, content, timestamp}`, oldest first (the current branch). */
  @Get(':id')
  async get(@CurrentUser() user: AuthUser, @ChatId() id: string): Promise<N8nChat> {
    return toN8nChat(await this.chats.get(user, id), user);
  }

  @Put(':id')
  async update(@CurrentUser() user: AuthUser, @ChatId() id: string, @Body() body: N8nUpdateChatDto): Promise<N8nChat> {
    return toN8nChat(await this.chats.update(user, id, await validateAs(UpdateChatDto, toUpdateChat(body))), user);
  }

  @Delete(':id')
  @HttpCode(204)
  delete(@CurrentUser() user: AuthUser, @ChatId() id: string): Promise<void> {
    return this.chats.delete(user, id);
  }

  /** Stores the message, starts the reply and streams it in the seed's events (n8n.mapper.ts, toN8nEvents). */
  @Post(':id/messages')
  @StreamingEndpoint()
  async send(
    @CurrentUser() user: AuthUser,
    @ChatId() id: string,
    @Body() body: N8nSendMessageDto,
    @Res() res: Response,
  ): Promise<void> {
    const sent = await this.messages.send(user, id, await validateAs(SendMessageDto, toSendMessage(body)));
    await this.sse.stream(res, 'chat', (flow) => this.messages.followReply(user, sent, flow).pipe(toN8nEvents()));
  }
}
