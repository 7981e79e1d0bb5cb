import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { CursorQueryDto } from 'src/common/pagination/cursor-query.dto';

class PageQueryDto extends CursorQueryDto {
  @ApiPropertyOptional({ description: 'Entries at or after this instant (ISO-8601)', example: '2026-01-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'Entries at or before this instant (ISO-8601)', example: '2026-12-31T23:59:59Z' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

export class ListAuditLogsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Exact action, e.g. auth.login, auth.login_failed, agent.update, http.request' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  action?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Entries of this member of your team' })
  @IsOptional()
  @IsUUID()
  userId?: string;
}

export class ListErrorLogsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Where the failure happened: http, llm, research…' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  source?: string;

  @ApiPropertyOptional({ description: 'Error code, e.g. INTERNAL, UPSTREAM_FAILED' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  code?: string;
}
