import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A rating (and optional comment) of a session or one of its messages, by a user of a team. */
@Entity('research_feedback')
export class ResearchFeedback {
  @PrimaryGeneratedColumn('uuid') id: string;

  @Index('idx_research_feedback_team')
  @Column({ name: 'team_id', type: 'uuid' })
  teamId: string;

  @Column({ name: 'user_id', type: 'uuid' }) userId: string;

  @Index('idx_research_feedback_session')
  @Column({ name: 'session_id', type: 'varchar', length: 100, nullable: true })
  sessionId: string | null;

  @Column({ name: 'message_id', type: 'varchar', length: 100, nullable: true }) messageId: string | null;
  @Column({ type: 'smallint' }) rating: number;
  @Column({ type: 'text', nullable: true }) comment: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
