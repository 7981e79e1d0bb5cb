import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from 'src/config/env';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** Opens a Redis connection for the configured URL (features needing a dedicated one call it too). */
export function createRedis(url: string, name: string): Redis {
  const logger = new Logger(`Redis:${name}`);
  const client = new Redis(url, { maxRetriesPerRequest: 3, enableOfflineQueue: true, connectionName: name, lazyConnect: false });
  client.on('error', (err: Error) => logger.warn(`redis error: ${err.message}`));
  return client;
}

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis | null) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.redis && this.redis.status !== 'end') await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}

/** The shared Redis client (`REDIS_CLIENT`), or null when REDIS_URL is not set. */
@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): Redis | null => (config.redisUrl ? createRedis(config.redisUrl, 'shared') : null),
    },
    RedisCloser,
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule {}
