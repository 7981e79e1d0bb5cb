import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export type ResearchStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface ResearchErrorInfo {
  code: string;
  message: string;
}

/** A research session of one user inside a team. The id is chosen by the client (Vana front ends). */
@Entity('research_sessions')
export class ResearchSession {
  @PrimaryColumn({ type: 'varchar', length: 100 }) id: string;

  @Index('idx_research_sessions_team')
  @Column({ name: 'team_id', type: 'uuid' })
  teamId: string;

  @Column({ name: 'user_id', type: 'uuid' }) userId: string;
  @Column({ type: 'varchar', length: 16, default: 'pending' }) status: ResearchStatus;
  @Column({ type: 'varchar', length: 200, default: 'New research' }) title: string;
  @Column({ type: 'text', default: '' }) query: string;
  @Column({ type: 'jsonb', default: () => "'{}'" }) preferences: Record<string, unknown>;
  @Column({ type: 'jsonb', default: () => "'{}'" }) metadata: Record<string, unknown>;
  @Column({ type: 'double precision', default: 0 }) progress: number;
  @Column({ name: 'current_phase', type: 'varchar', length: 32, nullable: true }) currentPhase: string | null;
  @Column({ name: 'final_report', type: 'text', nullable: true }) finalReport: string | null;
  @Column({ type: 'jsonb', nullable: true }) error: ResearchErrorInfo | null;
  /** Which run of the session the stream belongs to (a POST restarts the session: run_no + 1). */
  @Column({ name: 'run_no', type: 'integer', default: 0 }) runNo: number;
  /**
   * The instance running the current run and until when its lease holds (renewed while it runs). A
   * `running` session whose lease expired lost its process: the sweeper finishes it as INTERRUPTED.
   */
  @Column({ name: 'lease_owner', type: 'varchar', length: 100, nullable: true }) leaseOwner: string | null;
  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true }) leaseExpiresAt: Date | null;
  /** The id (`<runNo>-<seq>`) of the current run's terminal event, once it ended. */
  @Column({ name: 'final_event_id', type: 'varchar', length: 40, nullable: true }) finalEventId: string | null;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt: Date | null;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
