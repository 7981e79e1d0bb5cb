import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One secret's check value (`jwt`, `enc:<keyId>`): an HMAC of a fixed string under the secret, never the secret. */
@Entity('instance_secrets_check')
export class InstanceSecretCheck {
  @PrimaryColumn({ type: 'varchar', length: 100 }) name: string;
  @Column({ name: 'check_value', type: 'varchar', length: 128 }) checkValue: string;
  @Column({ name: 'created_at', type: 'timestamptz', precision: 3, default: () => 'now()' }) createdAt: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', precision: 3, default: () => 'now()' }) updatedAt: Date;
}
