import { Body, Controller, Delete, Get, Param, Post, Put, UseFilters, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { createLenientValidationPipe } from 'src/common/pipes/validation.pipe';
import { ResearchMessagesService } from 'src/research/sessions/research-messages.service';
import { ResearchRunsService } from 'src/research/runs/research-runs.service';
import { ResearchSessionsService } from 'src/research/sessions/research-sessions.service';
import {
  VanaAddMessageDto,
  VanaEditMessageDto,
  VanaMessageFeedbackDto,
  VanaRegenerateDto,
  VanaUpdateSessionDto,
} from 'src/compat/vana/dto/vana-research.dto';
import {
  VanaDeleteResponseDto,
  VanaErrorBodyDto,
  VanaMessageDto,
  VanaMessageFeedbackResponseDto,
  VanaMessageOperationDto,
  VanaSessionDetailDto,
  VanaSessionListDto,
  VanaSessionSummaryDto,
} from 'src/compat/vana/dto/vana-session.dto';
import { ApiErrorBody } from 'src/common/openapi/api-error-body.decorator';
import { VanaExceptionFilter } from 'src/compat/vana/vana-exception.filter';
import {
  toAddMessage,
  toMessageFeedback,
  toVanaDetail,
  toVanaList,
  toVanaMessage,
  toVanaMessageFeedback,
  toVanaOperation,
  toVanaSummary,
} from 'src/compat/vana/vana.mapper';

/** Vana's sessions and chat actions (messages by id, found among the caller's sessions). */
@ApiTags('compat: vana')
@ApiErrorBody(VanaErrorBodyDto)
@ApiNotFoundResponse({ description: 'No such session, message or conversation of yours' })
@ApiBearerAuth('bearer')
@UseFilters(VanaExceptionFilter)
@UsePipes(createLenientValidationPipe())
@Controller('compat/vana/api')
export class VanaSessionsController {
  constructor(
    private readonly sessions: ResearchSessionsService,
    private readonly runs: ResearchRunsService,
    private readonly messages: ResearchMessagesService,
  ) {}

  @Get('sessions')
  @ApiOperation({ summary: "The caller's newest 100 sessions: `{sessions, count, timestamp}`" })
  @ApiOkResponse({ type: VanaSessionListDto })
  list(@CurrentUser() user: AuthUser): Promise<VanaSessionListDto> {
    return this.sessions.list(user, { limit: 100 }).then((l) => toVanaList(l, user));
  }

  @Get('sessions/:sessionId')
  @ApiOperation({ summary: "A session with its messages (Vana's SessionDetail)" })
  @ApiOkResponse({ type: VanaSessionDetailDto })
  get(@CurrentUser() user: AuthUser, @Param('sessionId') sessionId: string): Promise<VanaSessionDetailDto> {
    return this.sessions.get(user, sessionId).then((s) => toVanaDetail(s, user));
  }

  @Put('sessions/:sessionId')
  @ApiOperation({
    summary: '`{title?, status?}`: the title is applied, status is accepted and ignored (the server owns it)',
  })
  @ApiOkResponse({ type: VanaSessionSummaryDto })
  update(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Body() dto: VanaUpdateSessionDto,
  ): Promise<VanaSessionSummaryDto> {
    return this.sessions
      .update(user, sessionId, { title: dto.title?.trim() || undefined })
      .then((s) => toVanaSummary(s, user));
  }

  @Delete('sessions/:sessionId')
  @ApiOperation({ summary: 'Delete the session with its messages (a running run is cancelled first)' })
  @ApiOkResponse({ type: VanaDeleteResponseDto })
  delete(@CurrentUser() user: AuthUser, @Param('sessionId') sessionId: string): Promise<VanaDeleteResponseDto> {
    return this.runs
      .remove(user, sessionId)
      .then(() => ({ success: true, message: `Session ${sessionId} deleted successfully` }));
  }

  @Post('sessions/:sessionId/messages')
  @ApiOperation({
    summary: "Store a message (Vana's SessionMessagePayload / ChatMessage; the same id twice stores one)",
  })
  @ApiOkResponse({ type: VanaMessageDto })
  addMessage(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Body() dto: VanaAddMessageDto,
  ): Promise<VanaMessageDto> {
    return this.sessions
      .addMessage(user, sessionId, toAddMessage(dto))
      .then((r) => toVanaMessage(r.message, sessionId));
  }

  @Put('messages/:messageId')
  @ApiOperation({
    summary:
      'Edit; with trigger_regeneration (default true) on a user message, later messages go and a new run researches it',
  })
  @ApiOkResponse({ type: VanaMessageOperationDto })
  edit(
    @CurrentUser() user: AuthUser,
    @Param('messageId') messageId: string,
    @Body() dto: VanaEditMessageDto,
  ): Promise<VanaMessageOperationDto> {
    return this.messages
      .edit(user, null, messageId, { content: dto.content, regenerate: dto.trigger_regeneration ?? true })
      .then((r) => toVanaOperation('edit', r));
  }

  @Delete('messages/:messageId')
  @ApiOperation({ summary: 'Delete the message and every message after it' })
  @ApiOkResponse({ type: VanaMessageOperationDto })
  deleteMessage(
    @CurrentUser() user: AuthUser,
    @Param('messageId') messageId: string,
  ): Promise<VanaMessageOperationDto> {
    return this.messages.delete(user, null, messageId).then((r) => toVanaOperation('delete', r));
  }

  @Post('messages/:messageId/regenerate')
  @ApiOperation({ summary: 'A new answer for an assistant message (a new run of the question before it)' })
  @ApiOkResponse({ type: VanaMessageOperationDto })
  regenerate(
    @CurrentUser() user: AuthUser,
    @Param('messageId') messageId: string,
    @Body() _dto: VanaRegenerateDto,
  ): Promise<VanaMessageOperationDto> {
    return this.messages.regenerate(user, null, messageId).then((r) => toVanaOperation('regenerate', r));
  }

  @Post('messages/:messageId/feedback')
  @ApiOperation({ summary: '`{feedback_type: upvote|downvote, reason?}` → rating 1 / -1 on the message' })
  @ApiOkResponse({ type: VanaMessageFeedbackResponseDto })
  messageFeedback(
    @CurrentUser() user: AuthUser,
    @Param('messageId') messageId: string,
    @Body() dto: VanaMessageFeedbackDto,
  ): Promise<VanaMessageFeedbackResponseDto> {
    return this.sessions.createFeedback(user, toMessageFeedback(messageId, dto)).then(toVanaMessageFeedback);
  }
}
