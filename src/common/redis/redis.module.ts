import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { RedisFallback } from 'src/common/redis/redis-fallback.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** A command on a connected Redis that gets no reply within this long fails (and answers 503), never hangs. */
export const REDIS_COMMAND_TIMEOUT_MS = 800;

/**
 * Opens a Redis connection for the configured URL (features needing a dedicated one call it too), set to
 * fail fast while Redis is unreachable instead of queueing commands for seconds:
 * - until the first connection, commands wait for it (boot); after it, a command sent while disconnected
 *   fails at once (`enableOfflineQueue` off), and the caller answers 503 or falls back to memory;
 * - a command with no reply within REDIS_COMMAND_TIMEOUT_MS fails (`commandTimeout`; not for a client
 *   used for blocking reads, pass `blocking: true`);
 * - reconnection is retried every ≤ 500 ms, so a recovered Redis is used again within a second.
 * The loss and the return of the connection are logged once each, not on every retry.
 */
export function createRedis(url: string, name: string, opts: { blocking?: boolean } = {}): Redis {
  const logger = new Logger(`Redis:${name}`);
  const client = new Redis(url, {
    connectionName: name,
    lazyConnect: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    ...(opts.blocking ? {} : { commandTimeout: REDIS_COMMAND_TIMEOUT_MS }),
    retryStrategy: (times: number) => Math.min(times * 50, 500),
  });
  let down = false;
  client.on('ready', () => {
    client.options.enableOfflineQueue = false;
    if (down) logger.log('redis connection restored');
    down = false;
  });
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger.warn(`redis unreachable (${err.message}); retrying every 500 ms`);
  });
  client.on('close', () => {
    if (client.options.enableOfflineQueue === false && !down) {
      down = true;
      logger.warn('redis connection lost; retrying every 500 ms');
    }
  });
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
      useFactory: (config: AppConfig): Redis | null =>
        config.redisUrl ? createRedis(config.redisUrl, 'shared') : null,
    },
    RedisCloser,
    RedisFallback,
  ],
  exports: [REDIS_CLIENT, RedisFallback],
})
export class RedisModule {}
