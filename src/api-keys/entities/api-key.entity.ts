import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const API_KEY_SCOPES = ['chat', 'research'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** A team API key. The key itself is never stored: only its SHA-256 (`keyHash`) and its first characters. */
@Entity('api_keys')
@Index('idx_api_keys_team_created', ['teamId', 'createdAt', 'id'])
export class ApiKey {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'team_id', type: 'uuid' }) teamId: string;
  @Column({ type: 'varchar', length: 100 }) name: string;
  /** `cb_live_` and the first 8 characters of the secret part: shown in lists, searchable. */
  @Column({ type: 'varchar', length: 32 }) prefix: string;
  @Column({ name: 'key_hash', type: 'char', length: 64 }) keyHash: string;
  @Column({ type: 'jsonb', default: () => "'[]'" }) scopes: ApiKeyScope[];
  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 }) createdAt: Date;
  @Column({ name: 'last_used_at', type: 'timestamptz', precision: 3, nullable: true }) lastUsedAt: Date | null;
  @Column({ name: 'expires_at', type: 'timestamptz', precision: 3, nullable: true }) expiresAt: Date | null;
  @Column({ name: 'revoked_at', type: 'timestamptz', precision: 3, nullable: true }) revokedAt: Date | null;
}
