import { DynamicModule, MiddlewareConsumer, Module, NestModule, Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { AdmissionGuard } from 'src/common/guards/admission.guard';
import { ThrottlerModule } from '@nestjs/throttler';
import type Redis from 'ioredis';
import { AgentsModule } from 'src/agents/agents.module';
import { ApiKeysModule } from 'src/api-keys/api-keys.module';
import { AuthModule } from 'src/auth/auth.module';
import { JwtAuthGuard } from 'src/auth/jwt-auth.guard';
import { RolesGuard } from 'src/auth/roles.guard';
import { ChatsModule } from 'src/chats/chats.module';
import { VanaCompatModule } from 'src/compat/vana/vana.module';
import { AuditMiddleware } from 'src/common/audit/audit.middleware';
import { AuditModule } from 'src/common/audit/audit.module';
import { CircuitModule } from 'src/common/circuit/circuit.module';
import { DrainGuard } from 'src/common/drain/drain.guard';
import { DrainModule } from 'src/common/drain/drain.module';
import { AllExceptionsFilter } from 'src/common/filters/all-exceptions.filter';
import { FiltersModule } from 'src/common/filters/filters.module';
import { AppThrottlerGuard } from 'src/common/guards/app-throttler.guard';
import { InputHygieneGuard } from 'src/common/guards/input-hygiene.guard';
import { RedisThrottlerStorage } from 'src/common/guards/throttler-redis.storage';
import { CircuitBreakerInterceptor } from 'src/common/interceptors/circuit-breaker.interceptor';
import { HttpMetricsMiddleware } from 'src/common/metrics/http-metrics.middleware';
import { MetricsModule } from 'src/common/metrics/metrics.module';
import { CorrelationIdMiddleware } from 'src/common/middleware/correlation-id.middleware';
import { createValidationPipe } from 'src/common/pipes/validation.pipe';
import { RedisFallback } from 'src/common/redis/redis-fallback.service';
import { REDIS_CLIENT, RedisModule } from 'src/common/redis/redis.module';
import { CacheModule } from 'src/common/cache/cache.module';
import { CanvaloModule } from 'src/compat/canvalo/canvalo.module';
import { N8nCompatModule } from 'src/compat/n8n/n8n-compat.module';
import { ConfigModule } from 'src/config/config.module';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { DatabaseModule } from 'src/database/database.module';
import { HealthModule } from 'src/health/health.module';
import { MonitoringModule } from 'src/monitoring/monitoring.module';
import { OpenAiCompatModule } from 'src/openai-compat/openai-compat.module';
import { ResearchModule } from 'src/research/research.module';

/**
 * Wiring only. The request pipeline (filter, pipe, guards, interceptor, middleware) is registered here, and
 * only here, so that every app built from this module, production or test, has exactly the same one. Guards
 * run in the order listed.
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
        CacheModule,
        DatabaseModule,
        CircuitModule,
        AuditModule,
        MetricsModule,
        DrainModule,
        FiltersModule,
        ThrottlerModule.forRootAsync({
          inject: [APP_CONFIG, REDIS_CLIENT, RedisFallback],
          useFactory: (cfg: AppConfig, redis: Redis | null, fallback: RedisFallback) => ({
            throttlers: [{ name: 'default', limit: cfg.throttle.limit, ttl: cfg.throttle.ttlMs }],
            storage: redis ? new RedisThrottlerStorage(redis, `${cfg.redisKeyPrefix}throttle:`, fallback) : undefined,
          }),
        }),
        HealthModule,
        AuthModule,
        MonitoringModule,
        AgentsModule,
        ChatsModule,
        ResearchModule,
        ApiKeysModule,
        OpenAiCompatModule,
        CanvaloModule,
        N8nCompatModule,
        VanaCompatModule,
        ...extraImports,
      ],
      providers: [
        { provide: APP_FILTER, useExisting: AllExceptionsFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        // First: a burst of stream-starting requests is handled a few at a time (src/common/guards/admission.guard.ts).
        { provide: APP_GUARD, useClass: AdmissionGuard },
        { provide: APP_GUARD, useClass: InputHygieneGuard },
        { provide: APP_GUARD, useClass: AppThrottlerGuard },
        { provide: APP_GUARD, useClass: JwtAuthGuard },
        { provide: APP_GUARD, useClass: RolesGuard },
        // After authentication: a draining instance refuses new streams (503), an anonymous caller still gets 401.
        { provide: APP_GUARD, useClass: DrainGuard },
        { provide: APP_INTERCEPTOR, useClass: CircuitBreakerInterceptor },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(CorrelationIdMiddleware, HttpMetricsMiddleware, AuditMiddleware).forRoutes('*path');
  }
}
