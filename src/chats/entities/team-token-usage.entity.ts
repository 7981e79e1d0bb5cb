import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** Tokens a team spent in one calendar month (UTC); `period` is the month's first day (YYYY-MM-DD). */
@Entity('team_token_usage')
export class TeamTokenUsage {
  @PrimaryColumn({ name: 'team_id', type: 'uuid' }) teamId: string;
  @PrimaryColumn({ type: 'date' }) period: string;
  @Column({ name: 'prompt_tokens', type: 'bigint', default: 0 }) promptTokens: string;
  @Column({ name: 'completion_tokens', type: 'bigint', default: 0 }) completionTokens: string;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
