import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { MemoryStreamLog } from 'src/streaming/memory-stream-log';
import { RedisStreamLog } from 'src/streaming/redis-stream-log';
import { StreamLog } from 'src/streaming/stream-log';

/**
 * Provides the stream log: on Redis Streams when `REDIS_URL` is set (every instance sees every stream),
 * in-process otherwise (the embedded single-instance default). Inject `StreamLog`.
 * Nest runs the chosen instance's lifecycle hooks (control-channel subscribe, shutdown of connections).
 */
@Module({
  providers: [
    {
      provide: StreamLog,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): StreamLog => {
        const { retentionSec, maxEventsPerStream, subscriberQueueMax } = config.streaming;
        return config.redisUrl
          ? new RedisStreamLog(config, { retentionSec, maxLen: maxEventsPerStream, subscriberQueueMax })
          : new MemoryStreamLog({ retentionSec, maxEventsPerStream, subscriberQueueMax });
      },
    },
  ],
  exports: [StreamLog],
})
export class StreamingModule {}
