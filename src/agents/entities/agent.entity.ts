import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { LlmProviderName } from 'src/llm/llm.types';

/** Known keys of `agents.config` (validated by AgentConfigDto). */
export interface AgentConfigValues {
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  [key: string]: unknown;
}

/**
 * A configured LLM back end of a team. Soft-deleted (`deletedAt`) so that chats keep a valid `agent_id`;
 * every read of the API filters deleted rows out. The secret (apiKey or webhookToken, depending on the
 * provider) is stored only as a SecretBox envelope; the avatar bytes are never selected unless asked for.
 */
@Entity('agents')
@Index('idx_agents_team_created', ['teamId', 'createdAt', 'id'])
export class Agent {
  @PrimaryGeneratedColumn('uuid') id: string;

  @Index('idx_agents_team')
  @Column({ name: 'team_id', type: 'uuid' })
  teamId: string;

  @Column({ type: 'varchar', length: 100 }) name: string;
  @Column({ type: 'varchar', length: 1000, default: '' }) description: string;
  @Column({ type: 'varchar', length: 16 }) provider: LlmProviderName;
  @Column({ type: 'varchar', length: 200 }) model: string;
  @Column({ name: 'base_url', type: 'varchar', length: 2000, nullable: true }) baseUrl: string | null;
  @Column({ name: 'webhook_url', type: 'varchar', length: 2000, nullable: true }) webhookUrl: string | null;
  @Column({ name: 'system_prompt', type: 'text', default: '' }) systemPrompt: string;
  @Column({ type: 'jsonb', default: () => "'{}'" }) config: AgentConfigValues;
  @Column({ name: 'fallback_agent_id', type: 'uuid', nullable: true }) fallbackAgentId: string | null;
  @Column({ name: 'is_active', type: 'boolean', default: true }) isActive: boolean;
  /** SecretBox envelope (`v1:<keyId>:…`) of the apiKey / webhookToken; never leaves the service layer. */
  @Column({ name: 'secret_enc', type: 'text', nullable: true }) secretEnc: string | null;

  @Column({ name: 'avatar_content_type', type: 'varchar', length: 32, nullable: true }) avatarContentType:
    string | null;
  /** Hex sha256 of the avatar bytes: the strong ETag and the `?v=` of avatarUrl. */
  @Column({ name: 'avatar_sha256', type: 'char', length: 64, nullable: true }) avatarSha256: string | null;
  @Column({ name: 'avatar_data', type: 'bytea', nullable: true, select: false }) avatarData?: Buffer | null;

  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true }) deletedAt: Date | null;
}
