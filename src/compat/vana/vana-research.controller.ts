import { Body, Controller, Get, HttpCode, Param, Post, Query, Res, UseFilters, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { StreamingEndpoint } from 'src/common/decorators/streaming-endpoint.decorator';
import { mapFrames, SseResponder } from 'src/common/sse/sse-responder';
import { LastEventId } from 'src/streaming/last-event-id.decorator';
import { StreamCursor } from 'src/streaming/stream-cursor';
import { createLenientValidationPipe } from 'src/common/pipes/validation.pipe';
import { ResearchRunsService } from 'src/research/runs/research-runs.service';
import { ResearchSessionsService } from 'src/research/sessions/research-sessions.service';
import { ResearchStreamsService } from 'src/research/streams/research-streams.service';
import { SessionIdPipe } from 'src/research/sessions/session-id.pipe';
import {
  VanaFeedbackDto,
  VanaHistoryDto,
  VanaHistoryQueryDto,
  VanaResearchResponseDto,
  VanaRunDto,
  VanaStatusDto,
} from 'src/compat/vana/dto/vana-research.dto';
import { VanaExceptionFilter } from 'src/compat/vana/vana-exception.filter';
import {
  toFeedback,
  toRunRequest,
  toVanaFrame,
  toVanaHistory,
  toVanaResearchResponse,
} from 'src/compat/vana/vana.mapper';
import { ApiErrorBody } from 'src/common/openapi/api-error-body.decorator';
import { VanaErrorBodyDto } from 'src/compat/vana/dto/vana-session.dto';

/** Vana's research routes: start a run, the session stream, cancel, the agent network, history, feedback. */
@ApiTags('compat: vana')
@ApiErrorBody(VanaErrorBodyDto)
@ApiNotFoundResponse({ description: 'No such session, message or conversation of yours' })
@ApiBearerAuth('bearer')
@UseFilters(VanaExceptionFilter)
@UsePipes(createLenientValidationPipe())
@Controller('compat/vana')
export class VanaResearchController {
  constructor(
    private readonly runs: ResearchRunsService,
    private readonly streams: ResearchStreamsService,
    private readonly sse: SseResponder,
    private readonly sessions: ResearchSessionsService,
  ) {}

  @Post('api/run_sse/:sessionId')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Start (or, for a session that ran, follow up) research: `{query, message}`; the query is stored as a user message',
  })
  @ApiOkResponse({ type: VanaResearchResponseDto })
  start(
    @CurrentUser() user: AuthUser,
    @Param('sessionId', SessionIdPipe) sessionId: string,
    @Body() dto: VanaRunDto,
  ): Promise<VanaResearchResponseDto> {
    return this.runs
      .start(user, sessionId, toRunRequest(dto))
      .then(() => toVanaResearchResponse(sessionId, 'Research session started successfully'));
  }

  @Get('api/run_sse/:sessionId')
  @StreamingEndpoint({ resumable: true })
  @ApiOperation({
    summary:
      'The session stream: open before the run exists, stays open across runs (follow-up questions), Last-Event-ID resume',
  })
  @ApiProduces('text/event-stream')
  async stream(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @LastEventId() after: StreamCursor | null,
    @Res() res: Response,
  ): Promise<void> {
    await this.sse.stream(res, 'research', async (flow) =>
      mapFrames(await this.streams.followSession(user, sessionId, after, flow), toVanaFrame),
    );
  }

  @Post('api/run_sse/:sessionId/cancel')
  @ApiOperation({ summary: "Cancel the session's running research" })
  @HttpCode(200)
  @ApiOkResponse({ type: VanaResearchResponseDto })
  cancel(@CurrentUser() user: AuthUser, @Param('sessionId') sessionId: string): Promise<VanaResearchResponseDto> {
    return this.runs
      .cancel(user, sessionId)
      .then((r) =>
        toVanaResearchResponse(
          sessionId,
          r.cancelled ? 'Research cancellation requested' : `Research is not running (status ${r.status})`,
          r.cancelled,
        ),
      );
  }

  @Get('agent_network_sse/:sessionId')
  @StreamingEndpoint()
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary:
      'Agent network of the session: open before the run exists, stays open across runs; agent_start, agent_complete, agent_network_update',
  })
  async network(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Res() res: Response,
  ): Promise<void> {
    await this.sse.stream(res, 'research', async (flow) =>
      mapFrames(await this.streams.followSessionNetwork(user, sessionId, flow), toVanaFrame),
    );
  }

  @Get('agent_network_history')
  @ApiOperation({ summary: "Recent agent events of the caller's sessions, newest first" })
  @ApiOkResponse({ type: VanaHistoryDto })
  history(@CurrentUser() user: AuthUser, @Query() q: VanaHistoryQueryDto): Promise<VanaHistoryDto> {
    return this.streams.history(user, { limit: q.limit ?? 50 }).then((list) => toVanaHistory(list, user));
  }

  @Post('feedback')
  @HttpCode(200)
  @ApiOperation({ summary: 'Feedback: `{type, message, rating}` (client) or `{score, text, invocation_id}` (backend)' })
  @ApiOkResponse({ type: VanaStatusDto })
  feedback(@CurrentUser() user: AuthUser, @Body() dto: VanaFeedbackDto): Promise<VanaStatusDto> {
    return this.sessions.createFeedback(user, toFeedback(dto)).then(() => ({ status: 'success' }));
  }
}
