import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export interface ChatMetadata {
  tags?: string[];
  priority?: string;
  [key: string]: unknown;
}

/** A conversation of one user (owner) with one agent, inside a team. */
@Entity('chats')
export class Chat {
  @PrimaryGeneratedColumn('uuid') id: string;

  @Index('idx_chats_team')
  @Column({ name: 'team_id', type: 'uuid' })
  teamId: string;

  @Column({ name: 'owner_id', type: 'uuid' }) ownerId: string;
  @Column({ name: 'agent_id', type: 'uuid' }) agentId: string;
  @Column({ type: 'varchar', length: 200, default: 'New chat' }) title: string;
  @Column({ type: 'jsonb', default: () => "'{}'" }) metadata: ChatMetadata;
  @Column({ name: 'is_archived', type: 'boolean', default: false }) isArchived: boolean;

  @Index('idx_chats_search', { synchronize: false })
  @Column({
    type: 'tsvector',
    select: false,
    insert: false,
    update: false,
    generatedType: 'STORED',
    asExpression: `to_tsvector('english'::regconfig, coalesce("title", ''))`,
  })
  search?: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
