import { Injectable, Logger } from '@nestjs/common';
import type { ErrorLogEntry, ErrorSink } from 'src/common/metrics/error-sink';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { currentCorrelationId } from 'src/common/logging/request-context';
import type { AuthUser } from 'src/common/auth-user';
import { mapPage } from 'src/common/pagination/keyset';
import { ErrorLogPageDto } from 'src/monitoring/dto/log-response.dto';
import { ListErrorLogsQueryDto } from 'src/monitoring/dto/list-logs.dto';
import { ErrorLogRepository } from 'src/monitoring/error-log.repository';
import { optionalDate, toErrorLogDto } from 'src/monitoring/log.mapper';

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * Writes the error log (provided as `ERROR_SINK` for modules that must not know Monitoring). Entries without
 * a team are only counted in the metrics and logged: the error log is read per team.
 */
@Injectable()
export class ErrorLogService implements ErrorSink {
  private readonly logger = new Logger(ErrorLogService.name);
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly repo: ErrorLogRepository,
    private readonly metrics: MetricsService,
  ) {}

  record(entry: ErrorLogEntry): void {
    this.metrics.errorLogged(entry.source, entry.code);
    if (!entry.teamId) return;
    const p = this.repo
      .create({
        teamId: entry.teamId,
        userId: entry.userId ?? null,
        source: clip(entry.source, 32),
        code: clip(entry.code, 64),
        message: clip(entry.message, 1000),
        statusCode: entry.statusCode ?? null,
        correlationId: entry.correlationId ?? currentCorrelationId() ?? null,
        metadata: entry.metadata ?? {},
      })
      .catch((err: unknown) => this.logger.error({ err, code: entry.code }, 'error log write failed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** The team's error log, newest first (the route is admin-only; the team comes from the caller). */
  async list(user: AuthUser, q: ListErrorLogsQueryDto): Promise<ErrorLogPageDto> {
    const page = await this.repo.listForTeam(user.teamId, {
      source: q.source,
      code: q.code,
      from: optionalDate(q.from),
      to: optionalDate(q.to),
      limit: q.limit ?? 20,
      cursor: q.cursor,
    });
    return mapPage(page, toErrorLogDto);
  }

  /** Waits for writes in flight (tests and shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
