import { ApiProperty } from '@nestjs/swagger';

export class AuditLogDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'auth.login' }) action: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) userId: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'POST' }) method: string | null;
  @ApiProperty({ nullable: true, type: String, example: '/api/agents/:id' }) route: string | null;
  @ApiProperty({ nullable: true, type: Number, example: 200 }) statusCode: number | null;
  @ApiProperty({ nullable: true, type: Number }) durationMs: number | null;
  @ApiProperty({ nullable: true, type: String }) ip: string | null;
  @ApiProperty({ nullable: true, type: String }) userAgent: string | null;
  @ApiProperty({ nullable: true, type: String }) correlationId: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: Record<string, unknown>;
  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' }) createdAt: string;
}

export class AuditLogPageDto {
  @ApiProperty({ type: [AuditLogDto] }) items: AuditLogDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class ErrorLogDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'http', description: 'http, llm, research, job…' }) source: string;
  @ApiProperty({ example: 'INTERNAL' }) code: string;
  @ApiProperty({ example: 'Internal server error' }) message: string;
  @ApiProperty({ nullable: true, type: Number, example: 500 }) statusCode: number | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) userId: string | null;
  @ApiProperty({ nullable: true, type: String }) correlationId: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: Record<string, unknown>;
  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' }) createdAt: string;
}

export class ErrorLogPageDto {
  @ApiProperty({ type: [ErrorLogDto] }) items: ErrorLogDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}
