import { ApiProperty } from '@nestjs/swagger';
import type { SseEventSpec } from 'src/common/openapi/api-event-stream.decorator';
import { ConnectionsDto } from 'src/monitoring/dto/connections.dto';

export class MonitoringReconnectDataDto {
  @ApiProperty({ enum: ['draining'] }) reason: 'draining';
}

export const MONITORING_STREAM_EVENTS: SseEventSpec[] = [
  {
    event: 'connections',
    data: ConnectionsDto,
    description: 'The same body as GET /api/monitoring/connections, every few seconds',
  },
  {
    event: 'reconnect',
    data: MonitoringReconnectDataDto,
    description: 'Last event when the instance drains; comes with a `retry:` hint',
  },
];
