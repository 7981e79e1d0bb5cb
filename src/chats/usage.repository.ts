import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TeamTokenUsage } from 'src/chats/entities/team-token-usage.entity';

/** The per-team monthly token ledger. */
@Injectable()
export class UsageRepository {
  constructor(@InjectRepository(TeamTokenUsage) private readonly repo: Repository<TeamTokenUsage>) {}

  async add(teamId: string, period: string, promptTokens: number, completionTokens: number): Promise<void> {
    await this.repo.query(
      `INSERT INTO team_token_usage (team_id, period, prompt_tokens, completion_tokens) VALUES ($1, $2, $3, $4)
       ON CONFLICT (team_id, period) DO UPDATE
         SET prompt_tokens = team_token_usage.prompt_tokens + EXCLUDED.prompt_tokens,
             completion_tokens = team_token_usage.completion_tokens + EXCLUDED.completion_tokens,
             updated_at = now()`,
      [teamId, period, promptTokens, completionTokens],
    );
  }

  async get(teamId: string, period: string): Promise<{ promptTokens: number; completionTokens: number }> {
    const row = await this.repo.findOne({ where: { teamId, period } });
    return { promptTokens: Number(row?.promptTokens ?? 0), completionTokens: Number(row?.completionTokens ?? 0) };
  }
}
