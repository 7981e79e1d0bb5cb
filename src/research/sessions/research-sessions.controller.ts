import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { CancelResearchResponseDto, CreateResearchSessionDto } from 'src/research/dto/create-research-session.dto';
import { CreateFeedbackDto, FeedbackResponseDto, SessionFeedbackDto } from 'src/research/dto/feedback.dto';
import {
  ListSessionsQueryDto,
  ResearchSessionDto,
  ResearchSessionListDto,
  UpdateSessionDto,
} from 'src/research/dto/research-session.dto';
import { ResearchRunsService } from 'src/research/runs/research-runs.service';
import { ResearchSessionsService } from 'src/research/sessions/research-sessions.service';

/** The canonical research API: the caller's sessions, their runs, cancel, feedback (another user's or team's session is a 404). */
@ApiTags('research')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such research session of yours' })
@Controller('api/research')
export class ResearchSessionsController {
  constructor(
    private readonly sessions: ResearchSessionsService,
    private readonly runs: ResearchRunsService,
  ) {}

  @Post('sessions')
  @ApiOperation({
    summary:
      "Create a session (the client's id or a UUID) and start its first run of the six-agent pipeline; the query is stored as a user message",
  })
  @ApiCreatedResponse({ type: ResearchSessionDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'A session with this id of yours is running already' })
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateResearchSessionDto): Promise<ResearchSessionDto> {
    return this.runs.create(user, dto);
  }

  @Get('sessions')
  @ApiOperation({ summary: 'List your research sessions, newest first (paginated: no report, no messages)' })
  @ApiOkResponse({ type: ResearchSessionListDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  list(@CurrentUser() user: AuthUser, @Query() q: ListSessionsQueryDto): Promise<ResearchSessionListDto> {
    return this.sessions.list(user, q);
  }

  @Get('sessions/:sessionId')
  @ApiOperation({ summary: 'Get a research session with its stored messages' })
  @ApiOkResponse({ type: ResearchSessionDto })
  get(@CurrentUser() user: AuthUser, @Param('sessionId') sessionId: string): Promise<ResearchSessionDto> {
    return this.sessions.get(user, sessionId);
  }

  @Patch('sessions/:sessionId')
  @ApiOperation({ summary: 'Update title and/or metadata (metadata is replaced)' })
  @ApiOkResponse({ type: ResearchSessionDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  update(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Body() dto: UpdateSessionDto,
  ): Promise<ResearchSessionDto> {
    return this.sessions.update(user, sessionId, dto);
  }

  @Delete('sessions/:sessionId')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete the session with its messages, events and feedback (a running run is cancelled first)',
  })
  @ApiNoContentResponse()
  delete(@CurrentUser() user: AuthUser, @Param('sessionId') sessionId: string): Promise<void> {
    return this.runs.remove(user, sessionId);
  }

  @Post('sessions/:sessionId/runs')
  @ApiOperation({
    summary: 'A follow-up question: a new run of the session (its query stored as a user message); `id` is ignored',
  })
  @ApiCreatedResponse({ type: ResearchSessionDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'The session is running already' })
  ask(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Body() dto: CreateResearchSessionDto,
  ): Promise<ResearchSessionDto> {
    return this.runs.ask(user, sessionId, dto);
  }

  @Post('sessions/:sessionId/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Stop every running agent call of the session (on whichever instance runs it); the run ends cancelled',
  })
  @ApiOkResponse({ type: CancelResearchResponseDto })
  cancel(@CurrentUser() user: AuthUser, @Param('sessionId') sessionId: string): Promise<CancelResearchResponseDto> {
    return this.runs.cancel(user, sessionId);
  }

  @Post('sessions/:sessionId/feedback')
  @ApiOperation({ summary: 'Rate the session or one of its messages (-1..1 thumbs or 1..5 stars)' })
  @ApiCreatedResponse({ type: FeedbackResponseDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  sessionFeedback(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Body() dto: SessionFeedbackDto,
  ): Promise<FeedbackResponseDto> {
    return this.sessions.createFeedback(user, { ...dto, sessionId });
  }

  @Post('feedback')
  @ApiOperation({
    summary: "General feedback, or on a message found among all the caller's sessions (-1..1 thumbs or 1..5 stars)",
  })
  @ApiCreatedResponse({ type: FeedbackResponseDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such research session, or no such message, of yours' })
  feedback(@CurrentUser() user: AuthUser, @Body() dto: CreateFeedbackDto): Promise<FeedbackResponseDto> {
    return this.sessions.createFeedback(user, dto);
  }
}
