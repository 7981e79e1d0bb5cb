import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from 'src/common/auth-user';

/** A member of one team. The same email may exist in several teams (one row each). */
@Entity('users')
@Index('idx_users_team_created', ['teamId', 'createdAt', 'id'])
export class User {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Index('idx_users_team') @Column({ name: 'team_id', type: 'uuid' }) teamId: string;
  /** Stored lower-cased; unique per team (`uq_users_team_email` on lower(email)). */
  @Column({ type: 'varchar', length: 254 }) email: string;
  /** scrypt hash in PHC-like form (`$scrypt$ln=…`, see src/auth password hashing); never leaves the service layer. */
  @Column({ name: 'password_hash', type: 'varchar', length: 255, select: false }) passwordHash: string;
  @Column({ name: 'display_name', type: 'varchar', length: 100, default: '' }) displayName: string;
  @Column({ type: 'varchar', length: 16, default: 'user' }) role: Role;
  @Column({ name: 'is_active', type: 'boolean', default: true }) isActive: boolean;
  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true }) lastLoginAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
