import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiEventStream } from 'src/common/openapi/api-event-stream.decorator';
import { RESEARCH_RUN_EVENTS } from 'src/research/dto/research-stream-events.dto';
import type { Response } from 'express';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { StreamingRoute } from 'src/common/drain/drain.guard';
import { SkipCircuitBreaker } from 'src/common/interceptors/circuit-breaker.interceptor';
import { CreateFeedbackDto, FeedbackResponseDto } from 'src/research/dto/feedback.dto';
import { RunResearchDto, RunResearchResponseDto } from 'src/research/dto/run-research.dto';
import { ResearchRunsService } from 'src/research/research-runs.service';
import { ResearchSessionsService } from 'src/research/research-sessions.service';
import { ResearchStreamsService } from 'src/research/research-streams.service';
import { SessionIdPipe } from 'src/research/session-id.pipe';

const RUN_STREAM_DOC =
  'text/event-stream. `connection` (no id), then the current run\'s events with ids `<run>-<seq>`: `research_started`, ' +
  '`research_progress` {phase, progress 0..1 (monotonic), agents[{agent_id, agent_type, name, status, progress, current_task}], ' +
  'partial_results{findings, sources}}, `agent_start`, `agent_complete`, then `research_complete` {final_report} or `error` ' +
  '{code, message, status}; `heartbeat` events (no id) and `: ping` comments while open. Resume with Last-Event-ID.';

/** Vana-compatible research runs: start/restart, follow, cancel; and feedback. */
@ApiTags('research')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such research session of yours' })
@Controller()
export class ResearchController {
  constructor(
    private readonly runs: ResearchRunsService,
    private readonly streams: ResearchStreamsService,
    private readonly sessions: ResearchSessionsService,
  ) {}

  @Post('api/run_sse/:sessionId')
  @HttpCode(200)
  @ApiOperation({ summary: 'Create (client-chosen id) or restart a research session and start the six-agent pipeline' })
  @ApiOkResponse({ type: RunResearchResponseDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'The session is running already' })
  start(@CurrentUser() user: AuthUser, @Param('sessionId', SessionIdPipe) sessionId: string, @Body() dto: RunResearchDto): Promise<RunResearchResponseDto> {
    return this.runs.start(user, sessionId, dto);
  }

  @Get('api/run_sse/:sessionId')
  @SkipCircuitBreaker()
  @StreamingRoute()
  @ApiOperation({ summary: 'Follow the session\'s current run: replay after Last-Event-ID, then live' })
  @ApiHeader({ name: 'Last-Event-ID', required: false })
  @ApiEventStream('Research', RESEARCH_RUN_EVENTS, RUN_STREAM_DOC)
  @ApiNoContentResponse({ description: 'Last-Event-ID is the terminal event of the run, which has ended: nothing more will come' })
  async stream(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    await this.streams.writeRun(res, user, sessionId, lastEventId);
  }

  @Post('api/run_sse/:sessionId/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop every running agent call of the session (on whichever instance runs it); status becomes cancelled' })
  @ApiOkResponse({ type: RunResearchResponseDto })
  cancel(@CurrentUser() user: AuthUser, @Param('sessionId') sessionId: string): Promise<RunResearchResponseDto> {
    return this.runs.cancel(user, sessionId);
  }

  @Post('feedback')
  @ApiOperation({ summary: 'Rate a research session or one of its stored messages (-1..1 thumbs or 1..5 stars); 404 for a session or message that is not yours' })
  @ApiCreatedResponse({ type: FeedbackResponseDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such research session, or no such stored message, of yours' })
  feedback(@CurrentUser() user: AuthUser, @Body() dto: CreateFeedbackDto): Promise<FeedbackResponseDto> {
    return this.sessions.createFeedback(user, dto);
  }
}
