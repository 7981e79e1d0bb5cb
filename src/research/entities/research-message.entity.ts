import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type ResearchMessageRole = 'user' | 'assistant' | 'system';

/** A message the front end stores with a session; `messageId` is the client's id (unique per session). */
@Entity('research_messages')
@Index('uq_research_messages_session_message', ['sessionId', 'messageId'], { unique: true })
export class ResearchMessage {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'session_id', type: 'varchar', length: 100 }) sessionId: string;

  @Index('idx_research_messages_team')
  @Column({ name: 'team_id', type: 'uuid' })
  teamId: string;

  @Column({ name: 'user_id', type: 'uuid' }) userId: string;
  @Column({ name: 'message_id', type: 'varchar', length: 100 }) messageId: string;
  @Column({ type: 'varchar', length: 16 }) role: ResearchMessageRole;
  @Column({ type: 'text' }) content: string;
  @Column({ type: 'jsonb', default: () => "'{}'" }) metadata: Record<string, unknown>;
  @Column({ name: 'sent_at', type: 'timestamptz' }) sentAt: Date;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
