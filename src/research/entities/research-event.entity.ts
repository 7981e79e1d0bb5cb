import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Every event of every run, written before it goes to the stream log: a resume after the log expired is
 * served from here, and `/agent_network_history` reads the agent events.
 */
@Entity('research_events')
@Index('uq_research_events_run_seq', ['sessionId', 'runNo', 'seq'], { unique: true })
export class ResearchEvent {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' }) id: string;
  @Column({ name: 'session_id', type: 'varchar', length: 100 }) sessionId: string;

  @Index('idx_research_events_team')
  @Column({ name: 'team_id', type: 'uuid' })
  teamId: string;

  @Column({ name: 'user_id', type: 'uuid' }) userId: string;
  @Column({ name: 'run_no', type: 'integer' }) runNo: number;
  @Column({ type: 'integer' }) seq: number;
  @Column({ type: 'varchar', length: 40 }) type: string;
  @Column({ name: 'agent_id', type: 'varchar', length: 64, nullable: true }) agentId: string | null;
  @Column({ name: 'agent_type', type: 'varchar', length: 32, nullable: true }) agentType: string | null;
  @Column({ type: 'jsonb' }) data: Record<string, unknown>;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
