import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { ChatLimitsService } from 'src/chats/chat-limits.service';
import { chatStreamKey, DoneEventData, ErrorEventData, INTERRUPTED, StatusEventData, ToolCallAccumulator, ToolCallEventData } from 'src/chats/chat-stream-events';
import { MessageUsage } from 'src/chats/entities/message.entity';
import { FinalState, MessageRepository } from 'src/chats/message.repository';
import { ProgressWriter } from 'src/chats/progress-writer';
import { pullAhead } from 'src/chats/pull-ahead';
import { DrainService } from 'src/common/drain/drain.service';
import { AppError } from 'src/common/errors/app-error';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { AgentRouter } from 'src/routing/agent-router.service';
import { LlmAgentConfig, LlmMessage, LlmRouting } from 'src/llm/llm.types';
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

/** Why a job's AbortController was aborted. */
const CANCELLED = 'cancelled';
const SHUTDOWN = 'shutdown';
const ABANDONED = 'abandoned';
const STREAM_UNAVAILABLE = 'STREAM_UNAVAILABLE';

const WRITE_COUNTS_KEPT = 2000;
const SHUTDOWN_WAIT_MS = 5000;
/** Largest message event made of deltas that queued up behind a slow append (characters). */
const MAX_COALESCED_CHARS = 16_384;

interface RunningJob {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * The generation engine. A job runs in this process independently of any HTTP request: it streams the
 * agent chain's reply through `LlmService`, appends each delta to the stream log (event offset = content
 * length so far), persists the accumulated content in batches (every `persistIntervalMs` or
 * `persistChars` new characters, never per delta) together with its lease, and finally writes status,
 * usage and model, then appends the terminal event. Cancel arrives through the log's control channel, so
 * it reaches the job on whichever instance runs it. A client disconnect never reaches a job.
 */
@Injectable()
export class GenerationService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(GenerationService.name);
  /** Identifies this process in leases. */
  readonly instanceId = `gen-${randomUUID()}`;
  private readonly jobs = new Map<string, RunningJob>();
  private readonly writes = new Map<string, number>();
  private unsubscribeControl: (() => void) | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly log: StreamLog,
    private readonly router: AgentRouter,
    private readonly messages: MessageRepository,
    private readonly limits: ChatLimitsService,
    @Optional() private readonly metrics?: MetricsService,
    @Optional() private readonly drain?: DrainService,
  ) {}

  onModuleInit(): void {
    this.unsubscribeControl = this.log.onControl((key, message) => {
      if (message.type !== 'cancel' || !key.startsWith('chat:')) return;
      this.jobs.get(key.slice('chat:'.length))?.controller.abort(CANCELLED);
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribeControl?.();
    const running = [...this.jobs.values()];
    for (const job of running) job.controller.abort(SHUTDOWN);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(running.map((j) => j.done)),
      new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }

  /**
   * Starts the job at once (its upstream call begins now) and opens the message's stream in the log. The
   * returned promise settles once followers can subscribe; it rejects when the log is unavailable, and the
   * job then stops and finishes the message as `error` (STREAM_UNAVAILABLE).
   */
  start(job: GenerationJob): Promise<void> {
    const controller = new AbortController();
    const opened = this.log.open(chatStreamKey(job.messageId));
    const entry: RunningJob = { controller, done: Promise.resolve() };
    this.jobs.set(job.messageId, entry);
    this.metrics?.sseStreamStarted('chat');
    entry.done = this.run(job, controller, opened)
      .catch((err: unknown) => this.logger.error(`job ${job.messageId} failed: ${(err as Error).message}`))
      .finally(() => {
        this.jobs.delete(job.messageId);
        this.metrics?.sseStreamEnded('chat');
      });
    // A drain waits for the job's final write (its partial content is persisted when it is stopped).
    void this.drain?.track(entry.done);
    return opened;
  }

  /** Asks whichever instance runs the job to stop it (the job persists its partial content). */
  async requestCancel(messageId: string): Promise<void> {
    const local = this.jobs.get(messageId);
    if (local) local.controller.abort(CANCELLED);
    else await this.log.publishControl(chatStreamKey(messageId), { type: 'cancel' });
  }

  isRunningHere(messageId: string): boolean {
    return this.jobs.has(messageId);
  }

  runningCount(): number {
    return this.jobs.size;
  }

  /** Database writes made for one message by its job (progress batches, lease renewals and the final write). */
  dbWrites(messageId: string): number {
    return this.writes.get(messageId) ?? 0;
  }

  private countWrite(messageId: string): void {
    this.writes.set(messageId, (this.writes.get(messageId) ?? 0) + 1);
    if (this.writes.size > WRITE_COUNTS_KEPT) this.writes.delete(this.writes.keys().next().value as string);
  }

  private async run(job: GenerationJob, controller: AbortController, opened: Promise<void>): Promise<void> {
    const signal = controller.signal;
    const key = chatStreamKey(job.messageId);
    const slot = { teamId: job.teamId, userId: job.ownerId, messageId: job.messageId };
    const { persistIntervalMs, persistChars, leaseMs } = this.config.chat;
    let content = '';
    // The content the log holds: what a re-seed puts back as one `message` if the log loses the stream.
    let logged = '';
    const writer = new StreamWriter(
      this.log,
      key,
      () => (logged ? [{ type: 'message', data: { content: logged }, offset: logged.length }] : []),
      () => this.metrics?.streamGap('chat', 'reseeded'),
    );
    let model: string | null = null;
    let usage: MessageUsage | null = null;
    let lastSeq = 0;
    let lastRenew = Date.now();
    // Created once the messages are stored: nothing is written for a message that does not exist yet.
    let progress: ProgressWriter | null = null;
    const stored = job.stored.then(
      (ok) => {
        if (!ok) return false;
        progress = new ProgressWriter(this.messages, {
          teamId: job.teamId,
          messageId: job.messageId,
          persistIntervalMs,
          persistChars,
          leaseMs,
          onWrite: () => {
            this.countWrite(job.messageId);
            // The generation slot's lease (Redis) follows the message's database lease.
            if (Date.now() - lastRenew >= leaseMs / 3) {
              lastRenew = Date.now();
              this.limits.renew(slot).catch((err: Error) => this.logger.warn(`job ${job.messageId}: slot not renewed: ${err.message}`));
            }
          },
        });
        progress.update(content);
        return true;
      },
      () => false,
    );
    void stored.then((ok) => ok || controller.abort(ABANDONED));

    let final: FinalState;
    const toolCalls = new ToolCallAccumulator();
    let routing: LlmRouting | null = null;
    // The upstream call starts now, while the log opens and the messages are stored; its chunks are
    // appended only after the status event, so the log's order is the same as if it had started later.
    const chunks = pullAhead(this.router.stream(job.teamId, job.chain, job.history, signal));
    try {
      await opened;
    } catch (err) {
      this.logger.error(`job ${job.messageId}: stream log unavailable: ${(err as Error).message}`);
      controller.abort(STREAM_UNAVAILABLE);
    }
    try {
      if (signal.reason === STREAM_UNAVAILABLE) throw signal.reason;
      lastSeq = (await writer.append<StatusEventData>('status', {
        description: 'Sending request...',
        level: 'info',
        done: false,
        userMessageId: job.userMessageId,
        assistantMessageId: job.messageId,
      })).seq;
      // Deltas that arrived while the previous append was in flight go out as one event (at most
      // MAX_COALESCED_CHARS): under load the log gets fewer, larger appends; ids still encode the offset.
      let pending = '';
      const flush = async (): Promise<void> => {
        if (!pending) return;
        content += pending;
        const text = pending;
        pending = '';
        lastSeq = (await writer.append('message', { content: text }, content.length)).seq;
        logged = content;
        progress?.update(content);
      };
      for await (const batch of chunks) {
        for (const chunk of batch) {
          if (chunk.type === 'delta') {
            if (!chunk.content) continue;
            pending += chunk.content;
            if (pending.length >= MAX_COALESCED_CHARS) await flush();
          } else if (chunk.type === 'usage') {
            usage = chunk.usage;
          } else if (chunk.type === 'tool_call') {
            await flush();
            const call = toolCalls.add(chunk);
            // Each event carries the call's arguments so far: a client keeps the latest per id (a resume is idempotent).
            lastSeq = (await writer.append<ToolCallEventData>('tool_call', call, content.length)).seq;
          } else if (chunk.type === 'finish') {
            continue;
          } else {
            await flush();
            if (!content) model = chunk.model;
            // A router's decision: `routedTo` and `reason` in the event, and the whole decision on the message.
            const routed = chunk.routing ? { routedTo: chunk.routing.routedTo, reason: chunk.routing.reason, routing: chunk.routing } : {};
            if (chunk.routing) routing = chunk.routing;
            lastSeq = (await writer.append<StatusEventData>('status', { description: chunk.description, level: 'info', done: false, agentId: chunk.agentId, model: chunk.model, ...routed })).seq;
          }
        }
        await flush();
      }
      final = { status: 'complete', content, model, usage };
    } catch (err) {
      final = this.failure(err, signal, content, model);
    }

    if (!(await stored)) {
      // Nobody follows this stream (the request that started it got an answer without it).
      await this.limits.abandon(slot).catch((err: Error) => this.logger.warn(`job ${job.messageId}: slot not released: ${err.message}`));
      await writer.finish().catch(() => undefined);
      return;
    }
    if (toolCalls.size) final.toolCalls = toolCalls.list();
    if (routing) final.routing = routing;
    const persisted = await (progress as ProgressWriter | null)!.stop();
    if (persisted > 0 && final.content.length >= persisted) final.persistedLength = persisted;
    // The terminal event will be the next one: the database records its id so a resume from it matches the log.
    final.finalEventId = formatEventId(final.content.length, lastSeq + 1);
    const charged = final.usage ?? this.estimateUsage(job.history, final.content);
    // Charged and released before the final write: whoever sees the final status also sees both.
    const recorded = this.limits.record(job.teamId, charged).catch((err: Error) => this.logger.warn(`usage not recorded: ${err.message}`));
    await this.limits.release(slot).catch((err: Error) => this.logger.warn(`job ${job.messageId}: slot not released: ${err.message}`));
    const written = await this.messages.finish(job.teamId, job.messageId, final).catch((err: Error) => {
      this.logger.error(`job ${job.messageId}: final write failed: ${err.message}`);
      return false;
    });
    if (written) this.countWrite(job.messageId);
    this.metrics?.chatReplyDbWrites(this.dbWrites(job.messageId));
    await recorded;
    await this.appendTerminal(writer, job.messageId, final);
  }

  private failure(err: unknown, signal: AbortSignal, content: string, model: string | null): FinalState {
    if (signal.aborted && signal.reason === STREAM_UNAVAILABLE) {
      return { status: 'error', content, model, errorCode: STREAM_UNAVAILABLE, errorMessage: 'The stream log is unavailable' };
    }
    if (signal.aborted && signal.reason === CANCELLED) return { status: 'cancelled', content, model };
    if (signal.aborted && signal.reason === SHUTDOWN) {
      return { status: 'error', content, model, errorCode: INTERRUPTED, errorMessage: 'The server stopped during generation' };
    }
    if (err instanceof AppError) return { status: 'error', content, model, errorCode: err.code, errorMessage: err.message };
    this.logger.error(`generation failed: ${(err as Error)?.message ?? String(err)}`);
    return { status: 'error', content, model, errorCode: 'INTERNAL', errorMessage: 'Generation failed' };
  }

  private async appendTerminal(writer: StreamWriter, messageId: string, final: FinalState): Promise<void> {
    try {
      if (final.status === 'error') {
        await writer.append<ErrorEventData>('error', { code: final.errorCode ?? 'INTERNAL', message: final.errorMessage ?? 'Generation failed', messageId }, final.content.length);
      } else {
        const cancelled = final.status === 'cancelled';
        await writer.append<DoneEventData>(
          'done',
          { message: cancelled ? 'Stream cancelled' : 'Stream completed', messageId, status: cancelled ? 'cancelled' : 'complete', usage: final.usage ?? null },
          final.content.length,
        );
      }
      await writer.finish();
    } catch (err) {
      // Followers fall back to the database, which already holds the final state.
      this.logger.warn(`job ${messageId}: terminal event not appended: ${(err as Error).message}`);
    }
  }

  private estimateUsage(history: LlmMessage[], content: string): MessageUsage {
    const prompt = history.reduce((n, m) => n + m.content.length, 0);
    return { promptTokens: Math.ceil(prompt / 4), completionTokens: Math.ceil(content.length / 4) };
  }
}
