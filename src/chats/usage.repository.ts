import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TeamTokenUsage } from 'src/chats/entities/team-token-usage.entity';
import { WriteBatcher } from 'src/database/write-batcher';

/** Tokens to add to a team's month (`period`: its first day, YYYY-MM-DD). */
export interface UsageCharge {
  period: string;
  promptTokens: number;
  completionTokens: number;
}

/** One charge to a team's month (UsageRepository.add). */
interface Charge extends UsageCharge {
  teamId: string;
}

/** Charges per batched upsert (4 parameters each). */
const MAX_BATCH = 1000;

/** The per-team monthly token ledger. */
@Injectable()
export class UsageRepository implements OnModuleDestroy {
  /** The charges of the replies finishing together: one upsert per batch (issue 18). */
  private readonly charges = new WriteBatcher<Charge, void>((rows) => this.addMany(rows), { maxBatch: MAX_BATCH });

  constructor(@InjectRepository(TeamTokenUsage) private readonly repo: Repository<TeamTokenUsage>) {}

  /** Adds tokens to the team's month; resolves once stored (with the other charges of its batch). */
  async add(teamId: string, period: string, promptTokens: number, completionTokens: number): Promise<void> {
    await this.charges.submit({ teamId, period, promptTokens, completionTokens });
  }

  async get(teamId: string, period: string): Promise<{ promptTokens: number; completionTokens: number }> {
    const row = await this.repo.findOne({ where: { teamId, period } });
    return { promptTokens: Number(row?.promptTokens ?? 0), completionTokens: Number(row?.completionTokens ?? 0) };
  }

  /** Graceful shutdown: buffered and in-flight charges are stored before the database closes. */
  async onModuleDestroy(): Promise<void> {
    await this.charges.flush();
  }

  /**
   * One upsert for many charges. Charges to the same team and month are summed first: an INSERT … ON
   * CONFLICT DO UPDATE cannot touch a row twice.
   */
  private async addMany(charges: Charge[]): Promise<void[]> {
    const sums = new Map<string, Charge>();
    for (const c of charges) {
      const k = `${c.teamId} ${c.period}`;
      const s = sums.get(k);
      if (s) {
        s.promptTokens += c.promptTokens;
        s.completionTokens += c.completionTokens;
      } else sums.set(k, { ...c });
    }
    const params: unknown[] = [];
    const values = [...sums.values()].map((c) => {
      params.push(c.teamId, c.period, c.promptTokens, c.completionTokens);
      const n = params.length;
      return `($${n - 3}::uuid, $${n - 2}::date, $${n - 1}::bigint, $${n}::bigint)`;
    });
    await this.repo.query(
      `INSERT INTO team_token_usage (team_id, period, prompt_tokens, completion_tokens) VALUES ${values.join(', ')}
       ON CONFLICT (team_id, period) DO UPDATE
         SET prompt_tokens = team_token_usage.prompt_tokens + EXCLUDED.prompt_tokens,
             completion_tokens = team_token_usage.completion_tokens + EXCLUDED.completion_tokens,
             updated_at = now()`,
      params,
    );
    return charges.map(() => undefined);
  }
}
