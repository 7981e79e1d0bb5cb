import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type MessageRole = 'user' | 'assistant' | 'system';
export type MessageStatus = 'complete' | 'streaming' | 'cancelled' | 'error';
export const TERMINAL_STATUSES: readonly MessageStatus[] = ['complete', 'cancelled', 'error'];

/** A tool call of the model, complete (`arguments`: the JSON text). */
export interface MessageToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** How a router agent chose the agent that answered (issue 16). */
export interface MessageRouting {
  routerAgentId: string;
  routedTo: string;
  routedToName: string;
  reason: string;
  /** `model`: the router's model chose; `default`: it failed, timed out or chose nothing valid. */
  method: 'model' | 'default';
}

export interface MessageUsage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * One node of a chat's message tree (`parentId`). An assistant message being generated is `streaming` and
 * holds a lease (`leaseOwner`, `leaseExpiresAt`) renewed by the job; an expired lease means the job died.
 */
@Entity('messages')
export class Message {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'chat_id', type: 'uuid' }) chatId: string;

  @Index('idx_messages_team')
  @Column({ name: 'team_id', type: 'uuid' })
  teamId: string;

  @Column({ name: 'parent_id', type: 'uuid', nullable: true }) parentId: string | null;
  @Column({ type: 'varchar', length: 16 }) role: MessageRole;
  @Column({ type: 'text', default: '' }) content: string;
  @Column({ type: 'varchar', length: 16, default: 'complete' }) status: MessageStatus;
  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true }) errorCode: string | null;
  @Column({ name: 'error_message', type: 'varchar', length: 500, nullable: true }) errorMessage: string | null;
  @Column({ type: 'varchar', length: 200, nullable: true }) model: string | null;
  @Column({ name: 'agent_id', type: 'uuid', nullable: true }) agentId: string | null;
  @Column({ type: 'jsonb', nullable: true }) usage: MessageUsage | null;
  @Column({ name: 'tool_calls', type: 'jsonb', nullable: true }) toolCalls: MessageToolCall[] | null;
  @Column({ type: 'jsonb', nullable: true }) routing: MessageRouting | null;
  @Column({ name: 'client_message_id', type: 'varchar', length: 200, nullable: true }) clientMessageId: string | null;
  @Column({ name: 'lease_owner', type: 'varchar', length: 100, nullable: true, select: false }) leaseOwner?:
    string | null;
  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true, select: false })
  leaseExpiresAt?: Date | null;

  /** The id of the stream's terminal event, so a resume from the database uses the very same id. */
  @Column({ name: 'final_event_id', type: 'varchar', length: 40, nullable: true }) finalEventId: string | null;

  @Index('idx_messages_search', { synchronize: false })
  @Column({
    type: 'tsvector',
    select: false,
    insert: false,
    update: false,
    generatedType: 'STORED',
    asExpression: `to_tsvector('english'::regconfig, left(coalesce("content", ''), 100000))`,
  })
  search?: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
