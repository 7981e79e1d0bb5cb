import { Inject, Injectable } from '@nestjs/common';
import { AuthUser } from 'src/common/auth-user';
import { ChatErrors } from 'src/chats/chats.errors';
import { GenerationLimiter, GenerationSlot } from 'src/chats/generation-limiter';
import { UsageCharge, UsageRepository } from 'src/chats/usage.repository';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { LlmUsage } from 'src/llm/llm.types';

/** How long a team's spend, as read from the database, is trusted by the budget check (see below). */
const SPEND_FRESH_MS = 5_000;

export interface UsagePeriod {
  /** First day of the month, YYYY-MM-DD (UTC). */
  period: string;
  start: Date;
  end: Date;
}

export interface TeamUsage {
  period: string;
  periodStart: string;
  periodEnd: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** null: no budget configured (unlimited). */
  budget: number | null;
  remaining: number | null;
}

export function usagePeriod(now = new Date()): UsagePeriod {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { period: start.toISOString().slice(0, 10), start, end };
}

/**
 * Limits checked before a generation starts: the per-user message rate and concurrent generations
 * (`GenerationLimiter`: atomic, in Redis or in this process) and the team's monthly token budget.
 *
 * The budget check reads the team's spend from the database at most every 5 s per team and adds what
 * this process charged since, so a send does not wait for the database. Another instance's spend is
 * seen within those 5 s; like the generations already running when the budget runs out, that can
 * overshoot the budget slightly, never by more than a few replies. Without a budget nothing is read.
 */
@Injectable()
export class ChatLimitsService {
  private readonly spend = new Map<
    string,
    { period: string; tokens: number; readAt: number; reading?: Promise<number> }
  >();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly limiter: GenerationLimiter,
    private readonly usage: UsageRepository,
  ) {}

  /**
   * Refuses (429) or reserves a generation slot for `slot.messageId`; the caller releases it with
   * `release` when the generation ends, or `abandon` when it never started.
   */
  async reserve(user: AuthUser, slot: GenerationSlot): Promise<void> {
    await this.assertBudget(user.teamId);
    const r = await this.limiter.reserve(slot);
    if (r.ok) return;
    if (r.reason === 'rate') {
      const { messagesPerMinute } = this.config.chat;
      throw ChatErrors.messageRateLimited(messagesPerMinute, Math.max(1, Math.ceil(r.retryAfterMs / 1000)));
    }
    const { maxConcurrentGenerations } = this.config.chat;
    throw ChatErrors.tooManyGenerations(maxConcurrentGenerations);
  }

  renew(slot: GenerationSlot): Promise<void> {
    return this.limiter.renew(slot);
  }

  release(slot: GenerationSlot): Promise<void> {
    return this.limiter.release(slot);
  }

  abandon(slot: GenerationSlot): Promise<void> {
    return this.limiter.abandon(slot);
  }

  /** 429 BUDGET_EXCEEDED when the team has used its monthly token budget (also used by the /v1 API). */
  async assertBudget(teamId: string): Promise<void> {
    const budget = this.config.chat.monthlyTokenBudget;
    if (!budget) return;
    const p = usagePeriod();
    if ((await this.spent(teamId, p.period)) < budget) return;
    const usage = await this.teamUsage(teamId); // exact figures for the error, only when refusing
    if (usage.remaining !== null && usage.remaining > 0) return;
    const retryAfter = Math.max(1, Math.ceil((Date.parse(usage.periodEnd) - Date.now()) / 1000));
    throw ChatErrors.budgetExceeded(retryAfter, {
      budget: usage.budget,
      used: usage.totalTokens,
      periodEnd: usage.periodEnd,
    });
  }

  /** The team's spend this period: read at most every SPEND_FRESH_MS, plus this process's charges since. */
  private async spent(teamId: string, period: string): Promise<number> {
    const cached = this.spend.get(teamId);
    if (cached && cached.period === period && Date.now() - cached.readAt < SPEND_FRESH_MS) return cached.tokens;
    if (cached?.reading) return cached.reading;
    const entry = cached && cached.period === period ? cached : { period, tokens: 0, readAt: 0 };
    this.spend.set(teamId, entry);
    entry.reading = this.usage
      .get(teamId, period)
      .then((u) => {
        entry.tokens = u.promptTokens + u.completionTokens;
        entry.readAt = Date.now();
        return entry.tokens;
      })
      .finally(() => (entry.reading = undefined));
    return entry.reading;
  }

  async teamUsage(teamId: string): Promise<TeamUsage> {
    const p = usagePeriod();
    const { promptTokens, completionTokens } = await this.usage.get(teamId, p.period);
    const totalTokens = promptTokens + completionTokens;
    const budget = this.config.chat.monthlyTokenBudget || null;
    return {
      period: p.period.slice(0, 7),
      periodStart: p.start.toISOString(),
      periodEnd: p.end.toISOString(),
      promptTokens,
      completionTokens,
      totalTokens,
      budget,
      remaining: budget === null ? null : Math.max(0, budget - totalTokens),
    };
  }

  /** Charges a finished (or stopped) generation to the team's current month. */
  async record(teamId: string, usage: LlmUsage): Promise<void> {
    const c = this.charge(teamId, usage);
    if (c) await this.store(teamId, c);
  }

  /**
   * The first half of `record`: counts the charge in this process's spend and returns what the ledger must
   * get (null: nothing), for a caller that writes it with something else (a reply's final write, issue 18).
   */
  charge(teamId: string, usage: LlmUsage): UsageCharge | null {
    if (!usage.promptTokens && !usage.completionTokens) return null;
    const { period } = usagePeriod();
    const cached = this.spend.get(teamId);
    if (cached && cached.period === period) cached.tokens += usage.promptTokens + usage.completionTokens;
    return { period, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens };
  }

  /** The second half of `record`: writes a charge to the ledger. */
  async store(teamId: string, c: UsageCharge): Promise<void> {
    await this.usage.add(teamId, c.period, c.promptTokens, c.completionTokens);
  }
}
