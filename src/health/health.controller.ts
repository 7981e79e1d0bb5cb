import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorFunction,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import type Redis from 'ioredis';
import { BreakerRegistry } from 'src/common/circuit/breaker-registry.service';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from 'src/common/decorators/public.decorator';
import { DrainService } from 'src/common/drain/drain.service';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { SkipCircuitBreaker } from 'src/common/interceptors/circuit-breaker.interceptor';
import { REDIS_CLIENT } from 'src/common/redis/redis.module';
import { HealthErrors } from 'src/health/health.errors';

/**
 * Liveness touches no dependency (no Redis, no database: not even through the rate limiter); readiness
 * checks the database and Redis (when configured) with short timeouts and answers 503 naming the one that
 * is down. Both are outside the route breakers, so readiness reflects a recovery at the next probe.
 */
@ApiTags('health')
@Public()
@SkipThrottle()
@SkipCircuitBreaker()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dataSource: DataSource,
    private readonly indicators: HealthIndicatorService,
    private readonly breakers: BreakerRegistry,
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    private readonly drain: DrainService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness plus readiness summary (terminus format)' })
  // Above @HealthCheck(): the 503 is the contract's error body, not terminus's (the filter writes it).
  @ApiServiceUnavailableResponse({ type: ErrorBodyDto })
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.ready();
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse({ schema: { example: { status: 'ok', info: { process: { status: 'up' } } } } })
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.indicators.check('process').up({ uptimeSec: Math.round(process.uptime()) })]);
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: database, Redis (when configured), LLM provider circuit states' })
  // Above @HealthCheck(): the 503 is the contract's error body, not terminus's (the filter writes it).
  @ApiServiceUnavailableResponse({ type: ErrorBodyDto })
  @HealthCheck()
  async ready(): Promise<HealthCheckResult> {
    if (this.drain.isDraining()) {
      throw HealthErrors.draining();
    }
    const checks: HealthIndicatorFunction[] = [() => this.pingDatabase(1500)];
    const redis = this.redis;
    if (redis) {
      checks.push(async () => {
        const session = this.indicators.check('redis');
        // Not connected: down at once (the client fails fast); connected: a PING within its command timeout.
        if (redis.status !== 'ready') return session.down({ message: `redis ${redis.status}` });
        try {
          await redis.ping();
          return session.up();
        } catch (err) {
          return session.down({ message: (err as Error).message });
        }
      });
    }
    checks.push(() => {
      const agents = this.breakers.snapshot('agent');
      const open = agents.filter((b) => b.state !== 'closed').map((b) => ({ name: b.name, state: b.state }));
      const session = this.indicators.check('llmProviders');
      return open.length
        ? session.degraded({ breakers: agents.length, notClosed: open })
        : session.up({ breakers: agents.length });
    });
    try {
      return await this.health.check(checks);
    } catch (err) {
      if (err instanceof ServiceUnavailableException) {
        const health = err.getResponse() as { error?: Record<string, unknown> };
        const down = Object.keys(health.error ?? {}).filter((k) => k === 'database' || k === 'redis');
        throw HealthErrors.notReady(down, health);
      }
      throw err;
    }
  }

  /**
   * `SELECT 1` on the app's own DataSource within `ms` (what terminus's TypeOrmHealthIndicator does; that one finds
   * the DataSource through a dynamic import of @nestjs/typeorm, which in the bundled server is another copy).
   */
  private async pingDatabase(ms: number) {
    const session = this.indicators.check('database');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timeout of ${ms}ms exceeded`)), ms))),
      ]);
      return session.up();
    } catch (err) {
      return session.down({ message: (err as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }
}
