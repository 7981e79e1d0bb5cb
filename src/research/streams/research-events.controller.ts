import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { StreamingEndpoint } from 'src/common/decorators/streaming-endpoint.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { ApiEventStream } from 'src/common/openapi/api-event-stream.decorator';
import { SseResponder } from 'src/common/sse/sse-responder';
import { LastEventId } from 'src/streaming/last-event-id.decorator';
import { StreamCursor } from 'src/streaming/stream-cursor';
import { AgentHistoryListDto, AgentHistoryQueryDto } from 'src/research/dto/agent-history.dto';
import { AGENT_NETWORK_EVENTS, RESEARCH_RUN_EVENTS } from 'src/research/dto/research-stream-events.dto';
import { ResearchStreamsService } from 'src/research/streams/research-streams.service';

const RUN_STREAM_DOC =
  "text/event-stream. `connection` (no id), then the current run's events with ids `<run>-<seq>`: `research_started`, " +
  '`research_progress` {phase, progress 0..1 (monotonic), agents[{agent_id, agent_type, name, status, progress, current_task}], ' +
  'partial_results{findings, sources}}, `agent_start`, `agent_complete`, then `research_complete` {final_report} or `error` ' +
  '{code, message, status}; `heartbeat` events (no id) and `: ping` comments while open. Resume with Last-Event-ID.';

/** The research event streams (SSE) and the agent history. */
@ApiTags('research')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such research session of yours' })
@Controller('api/research')
export class ResearchEventsController {
  constructor(
    private readonly streams: ResearchStreamsService,
    private readonly sse: SseResponder,
  ) {}

  @Get('sessions/:sessionId/events')
  @StreamingEndpoint({ resumable: true })
  @ApiOperation({
    summary:
      "Follow the session's current run: replay after Last-Event-ID (header, or ?lastEventId= for clients that cannot set it), then live; ends with the run",
  })
  @ApiQuery({ name: 'lastEventId', required: false, description: 'Used when the Last-Event-ID header is absent' })
  @ApiEventStream('Research', RESEARCH_RUN_EVENTS, RUN_STREAM_DOC)
  @ApiNoContentResponse({
    description: 'Last-Event-ID is the terminal event of the run, which has ended: nothing more will come',
  })
  async events(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @LastEventId() after: StreamCursor | null,
    @Res() res: Response,
  ): Promise<void> {
    await this.sse.stream(res, 'research', (flow) => this.streams.run(user, sessionId, after, flow));
  }

  @Get('sessions/:sessionId/agents/events')
  @StreamingEndpoint()
  @ApiOperation({
    summary:
      'Agent network of a session: connection, snapshot, then agent_start / agent_complete / agent_network_update live; ends with the run',
  })
  @ApiEventStream(
    'AgentNetwork',
    AGENT_NETWORK_EVENTS,
    'text/event-stream: `agent_network_connection`, `agent_network_snapshot`, then `agent_network_update`, `agent_start`, `agent_complete` live; ends with the run',
  )
  async agents(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Res() res: Response,
  ): Promise<void> {
    await this.sse.stream(res, 'research', (flow) => this.streams.network(user, sessionId, flow));
  }

  @Get('agent-history')
  @ApiOperation({ summary: "Recent agent_start / agent_complete events of the caller's own sessions, newest first" })
  @ApiOkResponse({ type: AgentHistoryListDto })
  history(@CurrentUser() user: AuthUser, @Query() q: AgentHistoryQueryDto): Promise<AgentHistoryListDto> {
    return this.streams.history(user, q);
  }
}
