import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A server-side or upstream failure, readable by the team's admins (`GET /api/monitoring/errors`). */
@Entity('error_logs')
@Index('idx_error_logs_team_created', ['teamId', 'createdAt'])
export class ErrorLog {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'team_id', type: 'uuid', nullable: true }) teamId: string | null;
  @Column({ name: 'user_id', type: 'uuid', nullable: true }) userId: string | null;
  @Column({ type: 'varchar', length: 32 }) source: string;
  @Column({ type: 'varchar', length: 64 }) code: string;
  @Column({ type: 'varchar', length: 1000 }) message: string;
  @Column({ name: 'status_code', type: 'int', nullable: true }) statusCode: number | null;
  @Column({ name: 'correlation_id', type: 'varchar', length: 128, nullable: true }) correlationId: string | null;
  @Column({ type: 'jsonb', default: () => "'{}'" }) metadata: Record<string, unknown>;
  /** Millisecond precision, so the keyset cursor (a JS Date) is exact. */
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 }) createdAt: Date;
}
