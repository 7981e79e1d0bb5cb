import { DynamicModule, MiddlewareConsumer, Module, NestModule, Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type Redis from 'ioredis';
import { AuditMiddleware } from 'src/common/audit/audit.middleware';
import { AuditModule } from 'src/common/audit/audit.module';
import { CircuitModule } from 'src/common/circuit/circuit.module';
import { AllExceptionsFilter } from 'src/common/filters/all-exceptions.filter';
import { AppThrottlerGuard } from 'src/common/guards/app-throttler.guard';
import { RedisThrottlerStorage } from 'src/common/guards/throttler-redis.storage';
import { CircuitBreakerInterceptor } from 'src/common/interceptors/circuit-breaker.interceptor';
import { CorrelationIdMiddleware } from 'src/common/middleware/correlation-id.middleware';
import { createValidationPipe } from 'src/common/pipes/validation.pipe';
import { REDIS_CLIENT, RedisModule } from 'src/common/redis/redis.module';
import { ConfigModule } from 'src/config/config.module';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { DatabaseModule } from 'src/database/database.module';
import { HealthModule } from 'src/health/health.module';

/**
 * Wiring only. The request pipeline (filter, pipe, guards, interceptor, middleware) is registered here so
 * that every app built from this module, production or test, has exactly the same one.
 */
@Module({})
export class AppModule implements NestModule {
  /** `extraImports`: only tests use it, to mount probe routes inside the real pipeline. */
  static forRoot(config: AppConfig, extraImports: Type[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        RedisModule,
        DatabaseModule,
        CircuitModule,
        AuditModule,
        ThrottlerModule.forRootAsync({
          inject: [APP_CONFIG, REDIS_CLIENT],
          useFactory: (cfg: AppConfig, redis: Redis | null) => ({
            throttlers: [{ name: 'default', limit: cfg.throttle.limit, ttl: cfg.throttle.ttlMs }],
            storage: redis ? new RedisThrottlerStorage(redis, `${cfg.redisKeyPrefix}throttle:`) : undefined,
          }),
        }),
        HealthModule,
        ...extraImports,
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_GUARD, useClass: AppThrottlerGuard },
        { provide: APP_INTERCEPTOR, useClass: CircuitBreakerInterceptor },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(CorrelationIdMiddleware, AuditMiddleware).forRoutes('*path');
  }
}
