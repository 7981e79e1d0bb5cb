import { Injectable } from '@nestjs/common';
import { AuditRepository } from 'src/common/audit/audit.repository';
import type { AuthUser } from 'src/common/auth-user';
import { mapPage } from 'src/common/pagination/keyset';
import { AuditLogPageDto } from 'src/monitoring/dto/log-response.dto';
import { ListAuditLogsQueryDto } from 'src/monitoring/dto/list-logs.dto';
import { optionalDate, toAuditLogDto } from 'src/monitoring/log.mapper';

/** The team's audit trail for its admins (the route is admin-only; the team comes from the caller). */
@Injectable()
export class AuditLogsService {
  constructor(private readonly audit: AuditRepository) {}

  async list(user: AuthUser, q: ListAuditLogsQueryDto): Promise<AuditLogPageDto> {
    const page = await this.audit.listForTeam(user.teamId, {
      action: q.action,
      userId: q.userId,
      from: optionalDate(q.from),
      to: optionalDate(q.to),
      limit: q.limit ?? 20,
      cursor: q.cursor,
    });
    return mapPage(page, toAuditLogDto);
  }
}
