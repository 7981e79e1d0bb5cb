import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** Access-token denylist (database mode): a `jti` refused until the token would have expired anyway. */
@Entity('revoked_access_tokens')
export class RevokedAccessToken {
  @PrimaryColumn({ type: 'varchar', length: 64 }) jti: string;
  @Index('idx_revoked_access_tokens_team') @Column({ name: 'team_id', type: 'uuid', nullable: true }) teamId:
    string | null;
  @Column({ name: 'user_id', type: 'uuid', nullable: true }) userId: string | null;
  @Index('idx_revoked_access_tokens_expires') @Column({ name: 'expires_at', type: 'timestamptz' }) expiresAt: Date;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
