import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One audited fact: a mutating request or a security event. */
@Entity('audit_logs')
@Index('idx_audit_logs_team_created', ['teamId', 'createdAt'])
export class AuditLog {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'team_id', type: 'uuid', nullable: true }) teamId: string | null;
  @Column({ name: 'user_id', type: 'uuid', nullable: true }) userId: string | null;
  /** `http.request` for requests; `auth.login_failed`, `auth.lockout`, `agent.update`… for events. */
  @Index('idx_audit_logs_action') @Column({ type: 'varchar', length: 100 }) action: string;
  @Column({ type: 'varchar', length: 10, nullable: true }) method: string | null;
  @Column({ type: 'varchar', length: 300, nullable: true }) route: string | null;
  @Column({ name: 'status_code', type: 'int', nullable: true }) statusCode: number | null;
  @Column({ name: 'duration_ms', type: 'int', nullable: true }) durationMs: number | null;
  @Column({ type: 'varchar', length: 64, nullable: true }) ip: string | null;
  @Column({ name: 'user_agent', type: 'varchar', length: 500, nullable: true }) userAgent: string | null;
  @Column({ name: 'correlation_id', type: 'varchar', length: 128, nullable: true }) correlationId: string | null;
  @Column({ type: 'jsonb', default: () => "'{}'" }) metadata: Record<string, unknown>;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 }) createdAt: Date;
}
