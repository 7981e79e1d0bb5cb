import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEventStream } from 'src/common/openapi/api-event-stream.decorator';
import { AGENT_NETWORK_EVENTS } from 'src/research/dto/research-stream-events.dto';
import type { Response } from 'express';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { StreamingRoute } from 'src/common/drain/drain.guard';
import { SkipCircuitBreaker } from 'src/common/interceptors/circuit-breaker.interceptor';
import { AgentHistoryListDto, AgentHistoryQueryDto } from 'src/research/dto/agent-history.dto';
import { ResearchStreamsService } from 'src/research/research-streams.service';

/** Vana's agent-network feed (no /api prefix). */
@ApiTags('research')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@Controller()
export class AgentNetworkController {
  constructor(private readonly streams: ResearchStreamsService) {}

  @Get('agent_network_sse/:sessionId')
  @SkipCircuitBreaker()
  @StreamingRoute()
  @ApiOperation({ summary: 'Agent network of a session: connection, snapshot, then agent_start / agent_complete / agent_network_update live' })
  @ApiEventStream('AgentNetwork', AGENT_NETWORK_EVENTS, 'text/event-stream: `agent_network_connection`, `agent_network_snapshot`, then `agent_network_update`, `agent_start`, `agent_complete` live; ends with the run')
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such research session of yours' })
  async stream(@CurrentUser() user: AuthUser, @Param('sessionId') sessionId: string, @Res() res: Response): Promise<void> {
    await this.streams.writeNetwork(res, user, sessionId);
  }

  @Get('agent_network_history')
  @ApiOperation({ summary: 'Recent agent_start / agent_complete events of the caller\'s own sessions, newest first' })
  @ApiOkResponse({ type: AgentHistoryListDto })
  history(@CurrentUser() user: AuthUser, @Query() q: AgentHistoryQueryDto): Promise<AgentHistoryListDto> {
    return this.streams.history(user, q);
  }
}
