import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Brute-force counters and locks (database mode; Redis keys otherwise). */
@Entity('auth_counters')
export class AuthCounter {
  @PrimaryColumn({ type: 'varchar', length: 300 }) key: string;
  @Column({ type: 'int', default: 0 }) count: number;
  @Index('idx_auth_counters_window') @Column({ name: 'window_expires_at', type: 'timestamptz' }) windowExpiresAt: Date;
  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true }) lockedUntil: Date | null;
}
