import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** Which agent serves the worker roles and which the critic roles of a team's research pipeline. */
@Entity('research_settings')
export class ResearchSettings {
  @PrimaryColumn({ name: 'team_id', type: 'uuid' }) teamId: string;
  @Column({ name: 'worker_agent_id', type: 'uuid', nullable: true }) workerAgentId: string | null;
  @Column({ name: 'critic_agent_id', type: 'uuid', nullable: true }) criticAgentId: string | null;
  @Column({ name: 'updated_by', type: 'uuid', nullable: true }) updatedBy: string | null;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
