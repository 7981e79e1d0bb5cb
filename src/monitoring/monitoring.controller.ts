import { ApiEventStream } from 'src/common/openapi/api-event-stream.decorator';
import { MONITORING_STREAM_EVENTS } from 'src/monitoring/dto/monitoring-stream-events.dto';
import { Controller, Get, MessageEvent, Query, Sse } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Observable } from 'rxjs';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { Roles } from 'src/common/decorators/roles.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { SkipCircuitBreaker } from 'src/common/interceptors/circuit-breaker.interceptor';
import { ConnectionsDto } from 'src/monitoring/dto/connections.dto';
import { ListErrorLogsQueryDto } from 'src/monitoring/dto/list-logs.dto';
import { ErrorLogPageDto } from 'src/monitoring/dto/log-response.dto';
import { ErrorLogService } from 'src/monitoring/error-log.service';
import { MonitoringService } from 'src/monitoring/monitoring.service';

/** Live figures and the error log, for the team's admins. */
@ApiTags('monitoring')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@ApiUnauthorizedResponse({ type: ErrorBodyDto })
@Roles('admin')
@Controller('api/monitoring')
export class MonitoringController {
  constructor(
    private readonly monitoring: MonitoringService,
    private readonly errors: ErrorLogService,
  ) {}

  @Get('connections')
  @ApiOperation({
    summary: 'Live SSE subscribers of your team per stream, queue depths, stream log and memory figures',
  })
  @ApiOkResponse({ type: ConnectionsDto })
  connections(@CurrentUser() user: AuthUser): Promise<ConnectionsDto> {
    return this.monitoring.connections(user);
  }

  @Sse('stream')
  @SkipCircuitBreaker()
  @ApiOperation({
    summary:
      'SSE: a `connections` event (same body as /connections) every 5 s; `reconnect` with a retry hint when the instance drains',
  })
  @ApiEventStream(
    'Monitoring',
    MONITORING_STREAM_EVENTS,
    'text/event-stream of `connections` events (`id:` lines, `: ping` comments)',
  )
  @ApiServiceUnavailableResponse({
    type: ErrorBodyDto,
    description: 'The instance is draining; reconnect (Retry-After)',
  })
  stream(@CurrentUser() user: AuthUser): Observable<MessageEvent> {
    return this.monitoring.stream(user);
  }

  @Get('errors')
  @ApiOperation({
    summary: 'Recent server-side and upstream failures of your team, newest first, with correlation ids',
  })
  @ApiOkResponse({ type: ErrorLogPageDto })
  errorLog(@CurrentUser() user: AuthUser, @Query() q: ListErrorLogsQueryDto): Promise<ErrorLogPageDto> {
    return this.errors.list(user, q);
  }
}
