import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { Roles } from 'src/common/decorators/roles.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { ListAuditLogsQueryDto } from 'src/monitoring/dto/list-logs.dto';
import { AuditLogPageDto } from 'src/monitoring/dto/log-response.dto';
import { AuditLogsService } from 'src/monitoring/audit-logs.service';

/** The team's audit trail (security events and mutations), for its admins. */
@ApiTags('monitoring')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@ApiUnauthorizedResponse({ type: ErrorBodyDto })
@Roles('admin')
@Controller('api/audit-logs')
export class AuditLogsController {
  constructor(private readonly auditLogs: AuditLogsService) {}

  @Get()
  @ApiOperation({ summary: 'Audit trail of your team, newest first; filter by action, user and time range' })
  @ApiOkResponse({ type: AuditLogPageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  list(@CurrentUser() user: AuthUser, @Query() q: ListAuditLogsQueryDto): Promise<AuditLogPageDto> {
    return this.auditLogs.list(user, q);
  }
}
