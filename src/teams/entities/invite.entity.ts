import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { Role } from 'src/common/auth-user';

/** A single-use, expiring invitation into a team. Only the SHA-256 of its token is stored. */
@Entity('invites')
export class Invite {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Index('idx_invites_team') @Column({ name: 'team_id', type: 'uuid' }) teamId: string;
  @Column({ name: 'token_hash', type: 'char', length: 64, unique: true }) tokenHash: string;
  /** When set, only this email (case-insensitively) may use the invite. */
  @Column({ type: 'varchar', length: 254, nullable: true }) email: string | null;
  @Column({ type: 'varchar', length: 16 }) role: Role;
  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy: string | null;
  @Column({ name: 'expires_at', type: 'timestamptz' }) expiresAt: Date;
  @Column({ name: 'used_at', type: 'timestamptz', nullable: true }) usedAt: Date | null;
  @Column({ name: 'used_by', type: 'uuid', nullable: true }) usedBy: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
