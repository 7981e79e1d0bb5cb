import { Body, Controller, Delete, Param, Patch, Post, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { EditMessageDto, MessageOperationDto } from 'src/research/dto/message-operation.dto';
import { AddSessionMessageDto, SessionMessageDto } from 'src/research/dto/research-session.dto';
import { ResearchMessagesService } from 'src/research/sessions/research-messages.service';
import { ResearchSessionsService } from 'src/research/sessions/research-sessions.service';

/** The messages of the caller's sessions: store, edit, delete, regenerate. */
@ApiTags('research')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such research session, or message, of yours' })
@Controller('api/research/sessions/:sessionId/messages')
export class ResearchMessagesController {
  constructor(
    private readonly sessions: ResearchSessionsService,
    private readonly messages: ResearchMessagesService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Store a message; the same id twice stores one (201 when new, 200 when it existed)' })
  @ApiCreatedResponse({ type: SessionMessageDto })
  @ApiOkResponse({ type: SessionMessageDto, description: 'A message with this id existed: returned unchanged' })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  async add(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Body() dto: AddSessionMessageDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SessionMessageDto> {
    const { message, created } = await this.sessions.addMessage(user, sessionId, dto);
    res.status(created ? 201 : 200);
    return message;
  }

  @Patch(':messageId')
  @ApiOperation({
    summary:
      'New content; with regenerate on a user message, the messages after it are deleted and the new content is researched in a new run',
  })
  @ApiOkResponse({ type: MessageOperationDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'regenerate while a run is going on' })
  edit(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Param('messageId') messageId: string,
    @Body() dto: EditMessageDto,
  ): Promise<MessageOperationDto> {
    return this.messages.edit(user, sessionId, messageId, dto);
  }

  @Delete(':messageId')
  @ApiOperation({ summary: 'Delete the message and every message after it' })
  @ApiOkResponse({ type: MessageOperationDto })
  delete(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Param('messageId') messageId: string,
  ): Promise<MessageOperationDto> {
    return this.messages.delete(user, sessionId, messageId);
  }

  @Post(':messageId/regenerate')
  @ApiOperation({
    summary:
      'A new answer for an assistant message: it and later messages are deleted, the user message before it is researched again',
  })
  @ApiCreatedResponse({ type: MessageOperationDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'Not an assistant message, or no user message before it' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'A run is going on' })
  regenerate(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Param('messageId') messageId: string,
  ): Promise<MessageOperationDto> {
    return this.messages.regenerate(user, sessionId, messageId);
  }
}
