import { Logger } from '@nestjs/common';
import { ChatLimitsService } from 'src/chats/chat-limits.service';
import {
  chatStreamKey,
  DoneEventData,
  ErrorEventData,
  INTERRUPTED,
  StatusEventData,
  ToolCallAccumulator,
  ToolCallEventData,
} from 'src/chats/chat-stream-events';
import { MessageUsage } from 'src/chats/entities/message.entity';
import { FinalState, MessageRepository } from 'src/chats/message.repository';
import { ProgressWriter } from 'src/chats/progress-writer';
import { pullAhead } from 'src/chats/pull-ahead';
import { AppError } from 'src/common/errors/app-error';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { AppConfig } from 'src/config/env';
import { JobContext } from 'src/jobs/job-kind';
import { LlmAgentConfig, LlmChunk, LlmMessage, LlmRouting } from 'src/llm/llm.types';
import { AgentRouter } from 'src/routing/agent-router.service';
import { formatEventId } from 'src/streaming/stream-event';
import { StreamLog } from 'src/streaming/stream-log';
import { StreamWriter } from 'src/streaming/stream-writer';

export interface GenerationJob {
  teamId: string;
  /** The chat's owner, whose generation slot (`ChatLimitsService.reserve`) the job releases when it ends. */
  ownerId: string;
  chatId: string;
  messageId: string;
  userMessageId: string | null;
  /**
   * Resolves true once the job's messages are stored, false if they never will be (a concurrent
   * duplicate, a deleted chat, a failed insert). The job starts before that, so the upstream's latency
   * hides the insert's; it writes nothing to the database and is abandoned without a trace unless true.
   */
  stored: Promise<boolean>;
  /** The agent chain (primary then fallbacks), resolved when the request was accepted. */
  chain: LlmAgentConfig[];
  /** The conversation up to (and including) the user message this replies to. */
  history: LlmMessage[];
}

/** What a reply job uses from its host (GenerationService). */
export interface ReplyJobDeps {
  config: AppConfig['chat'];
  log: StreamLog;
  router: AgentRouter;
  messages: MessageRepository;
  limits: ChatLimitsService;
  metrics: MetricsService;
  /** Counts a database write made for the message (progress batch, lease renewal, final write). */
  countWrite(messageId: string): void;
  dbWrites(messageId: string): number;
}

/** Why a reply job stopped itself. */
const STREAM_UNAVAILABLE = 'STREAM_UNAVAILABLE';
const ABANDONED = 'abandoned';
/** Largest message event made of deltas that queued up behind a slow append (characters). */
const MAX_COALESCED_CHARS = 16_384;

/**
 * One reply being generated, as a job of the JobRunner: it streams the agent chain's reply through the
 * router, appends each delta to the stream log (event offset = content length so far), persists the
 * accumulated content in batches (ProgressWriter; each batch also extends the lease), and finally writes
 * status, usage and model, then appends the terminal event.
 */
export class ReplyJob {
  private readonly logger = new Logger(ReplyJob.name);
  private readonly writer: StreamWriter;
  private readonly slot: { teamId: string; userId: string; messageId: string };
  private readonly toolCalls = new ToolCallAccumulator();
  private content = '';
  /** The content the log holds: what a re-seed puts back as one `message` if the log loses the stream. */
  private logged = '';
  /** Deltas that arrived while the previous append was in flight, appended as one event. */
  private pending = '';
  private model: string | null = null;
  private usage: MessageUsage | null = null;
  private routing: LlmRouting | null = null;
  private lastSeq = 0;
  private lastSlotRenew = Date.now();
  /** Created once the messages are stored: nothing is written for a message that does not exist yet. */
  private progress: ProgressWriter | null = null;

  constructor(
    private readonly deps: ReplyJobDeps,
    private readonly job: GenerationJob,
    private readonly opened: Promise<void>,
  ) {
    this.slot = { teamId: job.teamId, userId: job.ownerId, messageId: job.messageId };
    this.writer = new StreamWriter(
      deps.log,
      chatStreamKey(job.messageId),
      () => (this.logged ? [{ type: 'message', data: { content: this.logged }, offset: this.logged.length }] : []),
      () => deps.metrics.streamGap('chat', 'reseeded'),
    );
  }

  /** The runner's lease renewal: the message's lease in the database (once stored), and the generation slot's. */
  async renewLease(): Promise<boolean> {
    if (!(await this.job.stored.catch(() => false))) return true;
    await this.deps.messages.renewLease(this.job.teamId, this.job.messageId, this.deps.config.leaseMs);
    this.written();
    return true;
  }

  async run(ctx: JobContext): Promise<void> {
    const stored = this.whenStored(ctx);
    // The upstream call starts now, while the log opens and the messages are stored; its chunks are
    // appended only after the status event, so the log's order is the same as if it had started later.
    const chunks = pullAhead(this.deps.router.stream(this.job.teamId, this.job.chain, this.job.history, ctx.signal));
    await this.opened.catch((err: unknown) => {
      this.logger.error(`job ${this.job.messageId}: stream log unavailable: ${(err as Error).message}`);
      ctx.stop(STREAM_UNAVAILABLE);
    });
    let final: FinalState;
    try {
      if (ctx.stopReason === STREAM_UNAVAILABLE) throw ctx.signal.reason;
      await this.stream(chunks);
      final = { status: 'complete', content: this.content, model: this.model, usage: this.usage };
    } catch (err) {
      final = this.failure(err, ctx);
    }
    ctx.stopRenewing();
    if (await stored) await this.finish(final);
    else await this.abandon();
  }

  /** Resolves whether the messages were stored; from then on progress is persisted. Not stored: the job stops. */
  private whenStored(ctx: JobContext): Promise<boolean> {
    const stored = this.job.stored.then(
      (ok) => {
        if (!ok) return false;
        const { persistIntervalMs, persistChars, leaseMs } = this.deps.config;
        this.progress = new ProgressWriter(this.deps.messages, {
          teamId: this.job.teamId,
          messageId: this.job.messageId,
          persistIntervalMs,
          persistChars,
          leaseMs,
          onWrite: () => {
            ctx.leaseExtended();
            this.written();
          },
        });
        this.progress.update(this.content);
        return true;
      },
      () => false,
    );
    void stored.then((ok) => ok || ctx.stop(ABANDONED));
    return stored;
  }

  /** A write extended the message's lease: count it; the generation slot's lease (Redis) follows. */
  private written(): void {
    this.deps.countWrite(this.job.messageId);
    if (Date.now() - this.lastSlotRenew < this.deps.config.leaseMs / 3) return;
    this.lastSlotRenew = Date.now();
    this.deps.limits
      .renew(this.slot)
      .catch((err: Error) => this.logger.warn(`job ${this.job.messageId}: slot not renewed: ${err.message}`));
  }

  private async stream(chunks: AsyncGenerator<LlmChunk[]>): Promise<void> {
    await this.appendStatus({
      description: 'Sending request...',
      level: 'info',
      done: false,
      userMessageId: this.job.userMessageId,
      assistantMessageId: this.job.messageId,
    });
    for await (const batch of chunks) {
      for (const chunk of batch) await this.handle(chunk);
      await this.flush();
    }
  }

  private async handle(chunk: LlmChunk): Promise<void> {
    switch (chunk.type) {
      case 'delta':
        if (!chunk.content) return;
        this.pending += chunk.content;
        // Under load the log gets fewer, larger appends (at most MAX_COALESCED_CHARS); ids still encode the offset.
        if (this.pending.length >= MAX_COALESCED_CHARS) await this.flush();
        return;
      case 'usage':
        this.usage = chunk.usage;
        return;
      case 'tool_call': {
        await this.flush();
        const call = this.toolCalls.add(chunk);
        // Each event carries the call's arguments so far: a client keeps the latest per id (a resume is idempotent).
        this.lastSeq = (await this.writer.append<ToolCallEventData>('tool_call', call, this.content.length)).seq;
        return;
      }
      case 'finish':
        return;
      case 'status': {
        await this.flush();
        if (!this.content) this.model = chunk.model;
        // A router's decision: `routedTo` and `reason` in the event, and the whole decision on the message.
        const routed = chunk.routing
          ? { routedTo: chunk.routing.routedTo, reason: chunk.routing.reason, routing: chunk.routing }
          : {};
        if (chunk.routing) this.routing = chunk.routing;
        await this.appendStatus({
          description: chunk.description,
          level: 'info',
          done: false,
          agentId: chunk.agentId,
          model: chunk.model,
          ...routed,
        });
        return;
      }
    }
  }

  private async appendStatus(data: StatusEventData): Promise<void> {
    this.lastSeq = (await this.writer.append<StatusEventData>('status', data)).seq;
  }

  private async flush(): Promise<void> {
    if (!this.pending) return;
    this.content += this.pending;
    const text = this.pending;
    this.pending = '';
    this.lastSeq = (await this.writer.append('message', { content: text }, this.content.length)).seq;
    this.logged = this.content;
    this.progress?.update(this.content);
  }

  private failure(err: unknown, ctx: JobContext): FinalState {
    const { content, model } = this;
    const reason = ctx.stopReason;
    if (reason === STREAM_UNAVAILABLE)
      return {
        status: 'error',
        content,
        model,
        errorCode: STREAM_UNAVAILABLE,
        errorMessage: 'The stream log is unavailable',
      };
    if (reason === 'cancelled') return { status: 'cancelled', content, model };
    if (reason === 'shutdown')
      return {
        status: 'error',
        content,
        model,
        errorCode: INTERRUPTED,
        errorMessage: 'The server stopped during generation',
      };
    if (err instanceof AppError)
      return { status: 'error', content, model, errorCode: err.code, errorMessage: err.message };
    this.logger.error(`generation failed: ${(err as Error)?.message ?? String(err)}`);
    return { status: 'error', content, model, errorCode: 'INTERNAL', errorMessage: 'Generation failed' };
  }

  /** Nobody follows this stream (the request that started it got an answer without it). */
  private async abandon(): Promise<void> {
    await this.deps.limits
      .abandon(this.slot)
      .catch((err: Error) => this.logger.warn(`job ${this.job.messageId}: slot not released: ${err.message}`));
    await this.writer.finish().catch(() => undefined);
  }

  /** The final write (usage charged and the slot released before it: whoever sees the status sees both), then the terminal event. */
  private async finish(final: FinalState): Promise<void> {
    const { teamId, messageId } = this.job;
    if (this.toolCalls.size) final.toolCalls = this.toolCalls.list();
    if (this.routing) final.routing = this.routing;
    const persisted = await this.progress!.stop();
    if (persisted > 0 && final.content.length >= persisted) final.persistedLength = persisted;
    // The terminal event will be the next one: the database records its id so a resume from it matches the log.
    final.finalEventId = formatEventId(final.content.length, this.lastSeq + 1);
    // The usage charge is written with the final state, in the same statement (issue 18).
    final.charge = this.deps.limits.charge(teamId, final.usage ?? estimateUsage(this.job.history, final.content));
    await this.deps.limits
      .release(this.slot)
      .catch((err: Error) => this.logger.warn(`job ${messageId}: slot not released: ${err.message}`));
    const written = await this.deps.messages.finish(teamId, messageId, final).catch(async (err: Error) => {
      this.logger.error(`job ${messageId}: final write failed: ${err.message}`);
      if (final.charge)
        await this.deps.limits
          .store(teamId, final.charge)
          .catch((e: Error) => this.logger.warn(`usage not recorded: ${e.message}`));
      return false;
    });
    if (written) this.deps.countWrite(messageId);
    this.deps.metrics.chatReplyDbWrites(this.deps.dbWrites(messageId));
    await this.appendTerminal(final);
  }

  private async appendTerminal(final: FinalState): Promise<void> {
    const messageId = this.job.messageId;
    try {
      if (final.status === 'error') {
        await this.writer.append<ErrorEventData>(
          'error',
          { code: final.errorCode ?? 'INTERNAL', message: final.errorMessage ?? 'Generation failed', messageId },
          final.content.length,
          { finish: true },
        );
      } else {
        const cancelled = final.status === 'cancelled';
        await this.writer.append<DoneEventData>(
          'done',
          {
            message: cancelled ? 'Stream cancelled' : 'Stream completed',
            messageId,
            status: cancelled ? 'cancelled' : 'complete',
            usage: final.usage ?? null,
          },
          final.content.length,
          { finish: true },
        );
      }
    } catch (err) {
      // Followers fall back to the database, which already holds the final state.
      this.logger.warn(`job ${messageId}: terminal event not appended: ${(err as Error).message}`);
    }
  }
}

function estimateUsage(history: LlmMessage[], content: string): MessageUsage {
  const prompt = history.reduce((n, m) => n + m.content.length, 0);
  return { promptTokens: Math.ceil(prompt / 4), completionTokens: Math.ceil(content.length / 4) };
}
