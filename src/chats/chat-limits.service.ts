import { Inject, Injectable } from '@nestjs/common';
import { AuthUser } from 'src/common/auth-user';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { MessageRepository } from 'src/chats/message.repository';
import { UsageRepository } from 'src/chats/usage.repository';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { LlmUsage } from 'src/llm/llm.types';

const MINUTE_MS = 60_000;

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
 * Limits checked before a generation starts, all backed by the database so they hold across instances:
 * the per-user message rate (generations started in the last minute), concurrent generations per user,
 * and the team's monthly token budget.
 */
@Injectable()
export class ChatLimitsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly messages: MessageRepository,
    private readonly usage: UsageRepository,
  ) {}

  async assertCanGenerate(user: AuthUser): Promise<void> {
    const { messagesPerMinute, maxConcurrentGenerations } = this.config.chat;
    const recent = await this.messages.recentUserMessageTimes(user.teamId, user.id, MINUTE_MS);
    if (recent.length >= messagesPerMinute) {
      const oldest = recent[recent.length - messagesPerMinute];
      const retryAfter = Math.max(1, Math.ceil((oldest.getTime() + MINUTE_MS - Date.now()) / 1000));
      throw new AppError(ErrorCode.RATE_LIMITED, `At most ${messagesPerMinute} messages per minute`, { retryAfter });
    }
    const active = await this.messages.countActiveForOwner(user.teamId, user.id);
    if (active >= maxConcurrentGenerations) {
      throw new AppError(ErrorCode.RATE_LIMITED, `At most ${maxConcurrentGenerations} replies can be generated at the same time`, {
        retryAfter: 1,
        suggestion: 'Wait for a reply to finish or cancel one.',
      });
    }
    const usage = await this.teamUsage(user.teamId);
    if (usage.remaining !== null && usage.remaining <= 0) {
      const retryAfter = Math.max(1, Math.ceil((Date.parse(usage.periodEnd) - Date.now()) / 1000));
      throw new AppError(ErrorCode.BUDGET_EXCEEDED, 'The team has used its monthly token budget', {
        retryAfter,
        details: { budget: usage.budget, used: usage.totalTokens, periodEnd: usage.periodEnd },
      });
    }
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
    if (!usage.promptTokens && !usage.completionTokens) return;
    await this.usage.add(teamId, usagePeriod().period, usage.promptTokens, usage.completionTokens);
  }
}
