import type { AuditLog } from 'src/common/audit/audit-log.entity';
import type { AuditLogDto, ErrorLogDto } from 'src/monitoring/dto/log-response.dto';
import type { ErrorLog } from 'src/monitoring/entities/error-log.entity';

export function toAuditLogDto(a: AuditLog): AuditLogDto {
  return {
    id: a.id,
    action: a.action,
    userId: a.userId,
    method: a.method,
    route: a.route,
    statusCode: a.statusCode,
    durationMs: a.durationMs,
    ip: a.ip,
    userAgent: a.userAgent,
    correlationId: a.correlationId,
    metadata: a.metadata ?? {},
    createdAt: a.createdAt.toISOString(),
  };
}

export function toErrorLogDto(e: ErrorLog): ErrorLogDto {
  return {
    id: e.id,
    source: e.source,
    code: e.code,
    message: e.message,
    statusCode: e.statusCode,
    userId: e.userId,
    correlationId: e.correlationId,
    metadata: e.metadata ?? {},
    createdAt: e.createdAt.toISOString(),
  };
}

/** `from`/`to` query values (already validated as ISO-8601) as Dates. */
export const optionalDate = (v?: string): Date | undefined => (v ? new Date(v) : undefined);
