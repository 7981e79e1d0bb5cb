import { ApiProperty } from '@nestjs/swagger';

export class StreamSubscribersDto {
  @ApiProperty({ example: 'chat:…teamId…:…chatId…:…messageId…' }) key: string;
  @ApiProperty({ example: 'chat', description: 'First segment of the key: chat, research…' }) kind: string;
  @ApiProperty({ example: 2, description: 'Followers of this stream in this process' }) subscribers: number;
}

export class TeamConnectionsDto {
  @ApiProperty({ format: 'uuid' }) teamId: string;
  @ApiProperty({ description: 'Streams of your team followed in this process' }) streams: number;
  @ApiProperty({ description: 'SSE subscribers of your team in this process' }) subscribers: number;
  @ApiProperty({ type: [StreamSubscribersDto] }) byStream: StreamSubscribersDto[];
}

export class MemoryFiguresDto {
  @ApiProperty({ type: 'integer', minimum: 0 }) rssBytes: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) heapUsedBytes: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) heapTotalBytes: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) externalBytes: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) arrayBuffersBytes: number;
}

export class StreamLogFiguresDto {
  @ApiProperty({ enum: ['memory', 'redis'] }) backend: 'memory' | 'redis';
  @ApiProperty({ description: 'Streams held (Redis: in the whole Redis)' }) streamsHeld: number;
  @ApiProperty({ description: 'Events held (Redis: estimated from a sample)' }) eventsHeld: number;
  @ApiProperty({ description: 'Approximate bytes the held events take' }) approxBytes: number;
}

export class ProcessConnectionsDto {
  @ApiProperty({ description: 'SSE subscribers (stream-log followers) in this process, all teams' })
  subscribers: number;
  @ApiProperty({ description: 'Events waiting in subscriber buffers, in all' }) queuedEvents: number;
  @ApiProperty({ description: 'Events waiting in the fullest subscriber buffer' }) maxQueueDepth: number;
  @ApiProperty({ description: 'Subscribers dropped for falling behind, since start' }) droppedSlowConsumers: number;
  @ApiProperty({ type: StreamLogFiguresDto }) streamLog: StreamLogFiguresDto;
  @ApiProperty({ type: MemoryFiguresDto }) memory: MemoryFiguresDto;
  @ApiProperty({ type: 'integer', minimum: 0 }) uptimeSec: number;
  @ApiProperty({ description: 'The instance is shutting down and refuses new streams' }) draining: boolean;
}

export class ConnectionsDto {
  @ApiProperty({ type: TeamConnectionsDto }) team: TeamConnectionsDto;
  @ApiProperty({ type: ProcessConnectionsDto }) process: ProcessConnectionsDto;
  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' }) timestamp: string;
}
