import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiBearerAuth,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { ApiEventStream } from 'src/common/openapi/api-event-stream.decorator';
import { CHAT_STREAM_DOC, CHAT_STREAM_EVENTS } from 'src/chats/dto/chat-stream-events.dto';
import type { Request, Response } from 'express';
import { ChatErrors } from 'src/chats/chats.errors';
import { ChatsService } from 'src/chats/chats.service';
import {
  CreateChatDto,
  ExportChatQueryDto,
  GetChatQueryDto,
  ListChatsQueryDto,
  SearchChatsQueryDto,
  SendMessageDto,
  StreamQueryDto,
  UpdateChatDto,
} from 'src/chats/dto/chat-requests.dto';
import {
  ChatDetailDto,
  ChatListDto,
  ChatResponseDto,
  ChatTreeDto,
  MessageResponseDto,
  SearchResultDto,
  SendMessageResultDto,
} from 'src/chats/dto/chat-responses.dto';
import { MessagesService } from 'src/chats/messages.service';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { StreamingEndpoint } from 'src/common/decorators/streaming-endpoint.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { SseResponder } from 'src/common/sse/sse-responder';
import { StreamCursor } from 'src/streaming/stream-cursor';
import { LastEventId } from 'src/streaming/last-event-id.decorator';

/** The JSON answer of a send or regenerate for `Accept: application/json`: 202, Location: the stream. */
const accepted = (sent: SendMessageResultDto) => ({ status: 202, location: sent.streamUrl, body: sent });

/** A malformed id cannot name an existing chat or message: 404 like any other unknown id. */
const Id = (name: string) =>
  Param(name, new ParseUUIDPipe({ exceptionFactory: () => ChatErrors.notFound(name === 'id' ? 'Chat' : 'Message') }));

/** The caller's own chats (another user's chat is a 404), their messages and reply streams. */
@ApiTags('chats')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such chat (or message) of yours' })
@ApiBadRequestResponse({ type: ErrorBodyDto })
@Controller('api/chats')
export class ChatsController {
  constructor(
    private readonly chats: ChatsService,
    private readonly messages: MessagesService,
    private readonly sse: SseResponder,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List your chats, newest first (paginated; ?archived=, ?q= title filter)' })
  @ApiOkResponse({ type: ChatListDto })
  list(@CurrentUser() user: AuthUser, @Query() q: ListChatsQueryDto): Promise<ChatListDto> {
    return this.chats.list(user, q);
  }

  @Post()
  @ApiOperation({ summary: 'Create a chat with an agent of your team' })
  @ApiCreatedResponse({ type: ChatResponseDto })
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateChatDto): Promise<ChatResponseDto> {
    return this.chats.create(user, dto);
  }

  @Get('search')
  @ApiOperation({ summary: 'Ranked full-text search over your messages and chat titles, with <mark> snippets' })
  @ApiOkResponse({ type: SearchResultDto })
  search(@CurrentUser() user: AuthUser, @Query() q: SearchChatsQueryDto): Promise<SearchResultDto> {
    return this.chats.search(user, q);
  }

  @Get(':id')
  @ApiOperation({
    summary: 'The chat with the messages of its current branch (or of the branch through ?leafId=), oldest first',
  })
  @ApiOkResponse({ type: ChatDetailDto })
  get(@CurrentUser() user: AuthUser, @Id('id') id: string, @Query() q: GetChatQueryDto): Promise<ChatDetailDto> {
    return this.chats.get(user, id, q.leafId);
  }

  @Get(':id/tree')
  @ApiOperation({ summary: 'Every message of the chat (all branches), parents before children' })
  @ApiOkResponse({ type: ChatTreeDto })
  tree(@CurrentUser() user: AuthUser, @Id('id') id: string): Promise<ChatTreeDto> {
    return this.chats.tree(user, id);
  }

  @Put(':id')
  @ApiOperation({ summary: "Replace the chat's title, metadata and archived flag" })
  @ApiOkResponse({ type: ChatResponseDto })
  replace(@CurrentUser() user: AuthUser, @Id('id') id: string, @Body() dto: UpdateChatDto): Promise<ChatResponseDto> {
    return this.chats.update(user, id, dto);
  }

  @Patch(':id')
  @ApiOperation({ summary: "Change the chat's title, metadata or archived flag" })
  @ApiOkResponse({ type: ChatResponseDto })
  update(@CurrentUser() user: AuthUser, @Id('id') id: string, @Body() dto: UpdateChatDto): Promise<ChatResponseDto> {
    return this.chats.update(user, id, dto);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete the chat and its messages' })
  @HttpCode(204)
  @ApiNoContentResponse()
  delete(@CurrentUser() user: AuthUser, @Id('id') id: string): Promise<void> {
    return this.chats.delete(user, id);
  }

  @Get(':id/export')
  @ApiOperation({ summary: 'Download the current branch as Markdown (default) or JSON' })
  @ApiOkResponse({
    description: 'The file, with Content-Disposition: attachment; filename=…',
    content: {
      'text/markdown': { schema: { type: 'string' } },
      'application/json': { schema: { type: 'object', additionalProperties: true } },
    },
  })
  async export(
    @CurrentUser() user: AuthUser,
    @Id('id') id: string,
    @Query() q: ExportChatQueryDto,
    @Res() res: Response,
  ): Promise<void> {
    const file = await this.chats.export(user, id, q);
    res.setHeader('Content-Disposition', `attachment; filename="${file.fileName}"`);
    res.type(file.contentType).send(file.body);
  }

  @Post(':id/messages')
  @StreamingEndpoint()
  @ApiOperation({
    summary:
      'Send a message. Accept: text/event-stream (default): the response is the reply stream. Accept: application/json: 202.',
  })
  @ApiEventStream('Chat', CHAT_STREAM_EVENTS, CHAT_STREAM_DOC)
  @ApiAcceptedResponse({ type: SendMessageResultDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'The agent is inactive and has no active fallback' })
  @ApiTooManyRequestsResponse({ type: ErrorBodyDto, description: 'RATE_LIMITED or BUDGET_EXCEEDED, with Retry-After' })
  async send(
    @CurrentUser() user: AuthUser,
    @Id('id') id: string,
    @Body() dto: SendMessageDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const sent = await this.messages.send(user, id, dto);
    await this.sse.streamOrJson(req, res, 'chat', accepted(sent), (flow) =>
      this.messages.followReply(user, sent, flow),
    );
  }

  @Get(':id/messages/:messageId/stream')
  @StreamingEndpoint({ resumable: true })
  @ApiOperation({
    summary:
      'Follow a reply: replay after Last-Event-ID (header) or ?lastEventId=, then live. 204 when nothing is left.',
  })
  @ApiEventStream('Chat', CHAT_STREAM_EVENTS, CHAT_STREAM_DOC)
  @ApiNoContentResponse({ description: 'The client already has the terminal event: an EventSource stops reconnecting' })
  async stream(
    @CurrentUser() user: AuthUser,
    @Id('id') id: string,
    @Id('messageId') messageId: string,
    // Validates (and documents) the query; the cursor itself is read once, by @LastEventId().
    @Query() _query: StreamQueryDto,
    @LastEventId() after: StreamCursor | null,
    @Res() res: Response,
  ): Promise<void> {
    await this.sse.stream(res, 'chat', (flow) => this.messages.openStream(user, id, messageId, after, flow));
  }

  @Post(':id/messages/:messageId/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Stop generating (on whichever instance runs it); the message keeps its partial content as cancelled',
  })
  @ApiOkResponse({ type: MessageResponseDto })
  cancel(
    @CurrentUser() user: AuthUser,
    @Id('id') id: string,
    @Id('messageId') messageId: string,
  ): Promise<MessageResponseDto> {
    return this.messages.cancel(user, id, messageId);
  }

  @Post(':id/messages/:messageId/regenerate')
  @StreamingEndpoint()
  @ApiOperation({ summary: 'A new assistant sibling (branch) of this reply; streams like POST messages' })
  @ApiEventStream('Chat', CHAT_STREAM_EVENTS, CHAT_STREAM_DOC)
  @ApiAcceptedResponse({ type: SendMessageResultDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'The agent is inactive and has no active fallback' })
  @ApiTooManyRequestsResponse({ type: ErrorBodyDto })
  async regenerate(
    @CurrentUser() user: AuthUser,
    @Id('id') id: string,
    @Id('messageId') messageId: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const sent = await this.messages.regenerate(user, id, messageId);
    await this.sse.streamOrJson(req, res, 'chat', accepted(sent), (flow) =>
      this.messages.followReply(user, sent, flow),
    );
  }
}
