import { Body, Controller, Get, HttpCode, Injectable, Module, Post, Query } from '@nestjs/common';
import { IsEmail, IsInt, Max, Min } from 'class-validator';
import { Public } from 'src/common/decorators/public.decorator';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

class ProbeDto {
  @IsEmail() email: string;
  @IsInt() @Min(1) @Max(10) count: number;
}

@Injectable()
class ProbeService {
  healthy = true;

  deep(): never {
    // Looks like what a database driver throws: internals that must never reach a client.
    const err = new Error('relation "secret_table" does not exist: SELECT * FROM secret_table WHERE password = $1');
    throw Object.assign(err, { query: 'SELECT * FROM secret_table' });
  }

  /** Unhealthy: fails the way the pg driver does when PostgreSQL goes away (a dependency failure). */
  flaky(): { ok: true } {
    if (!this.healthy) throw new Error('Connection terminated unexpectedly');
    return { ok: true };
  }
}

/** Routes that exist only in tests, mounted inside the real pipeline to provoke each behaviour. */
@Public()
@Controller('test-probe')
class ProbeController {
  constructor(private readonly probe: ProbeService) {}

  @Post('echo') @HttpCode(200) echo(@Body() dto: ProbeDto) {
    return dto;
  }
  @Get('deep') deep() {
    return this.probe.deep();
  }
  @Get('flaky') flaky() {
    return this.probe.flaky();
  }
  @Post('flaky-mode') @HttpCode(204) flakyMode(@Query('healthy') healthy: string) {
    this.probe.healthy = healthy === 'true';
  }
  /** A bug one request can trigger: an unknown error, answered 500, never counted by the route breaker. */
  @Get('unknown-error') unknownError() {
    throw new URIError('URI malformed');
  }
  @Get('client-error') clientError() {
    throw new AppError(ErrorCode.CONFLICT, 'conflict on purpose');
  }
}

@Module({ controllers: [ProbeController], providers: [ProbeService] })
export class ProbeModule {}
