import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One login session: every refresh token rotated from the same login shares a family. */
@Entity('refresh_token_families')
export class RefreshTokenFamily {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Index('idx_refresh_families_team') @Column({ name: 'team_id', type: 'uuid' }) teamId: string;
  @Index('idx_refresh_families_user') @Column({ name: 'user_id', type: 'uuid' }) userId: string;
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true }) revokedAt: Date | null;
  /** `logout`, `reuse`. */
  @Column({ name: 'revoke_reason', type: 'varchar', length: 32, nullable: true }) revokeReason: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
