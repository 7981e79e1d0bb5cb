import { Injectable } from '@nestjs/common';
import type { AuditLog } from 'src/common/audit/audit-log.entity';
import { AuditRepository } from 'src/common/audit/audit.repository';
import type { AuthUser } from 'src/common/auth-user';
import { AuditLogDto, AuditLogPageDto } from 'src/monitoring/dto/log-response.dto';
import { ListAuditLogsQueryDto } from 'src/monitoring/dto/list-logs.dto';
import { decodeLogCursor, optionalDate, toPage } from 'src/monitoring/log-cursor';

const toDto = (a: AuditLog): AuditLogDto => ({
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
});

/** The team's audit trail for its admins (the route is admin-only; the team comes from the caller). */
@Injectable()
export class AuditLogsService {
  constructor(private readonly audit: AuditRepository) {}

  async list(user: AuthUser, q: ListAuditLogsQueryDto): Promise<AuditLogPageDto> {
    const limit = q.limit ?? 20;
    const rows = await this.audit.listForTeam(user.teamId, {
      action: q.action,
      userId: q.userId,
      from: optionalDate(q.from),
      to: optionalDate(q.to),
      limit: limit + 1,
      before: q.cursor ? decodeLogCursor(q.cursor) : undefined,
    });
    return toPage(rows, limit, toDto);
  }
}
