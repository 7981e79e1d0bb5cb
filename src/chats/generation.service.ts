import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ChatLimitsService } from 'src/chats/chat-limits.service';
import { chatStreamKey, contentWithEvents, ErrorEventData, INTERRUPTED } from 'src/chats/chat-stream-events';
import { MessageRepository } from 'src/chats/message.repository';
import { GenerationJob, ReplyJob, ReplyJobDeps } from 'src/chats/reply-job';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { InterruptOutcome, JobKind } from 'src/jobs/job-kind';
import { JobRunner } from 'src/jobs/job-runner.service';
import { AgentRouter } from 'src/routing/agent-router.service';
import { formatEventId } from 'src/streaming/stream-event';
import { StreamLog } from 'src/streaming/stream-log';

/** A `streaming` assistant message (the row of a reply job). */
export interface ReplyRow {
  id: string;
  teamId: string;
  content: string;
}

const WRITE_COUNTS_KEPT = 2000;

/**
 * Chat replies as a kind of job of the JobRunner: starts a reply's job (ReplyJob) with its stream, cancels
 * it wherever it runs, and finishes the reply of a job that died with its process (expired lease) as
 * `error`/`INTERRUPTED` with all the content that reached the log (or, without it, the database), appending
 * the terminal event so followers end. A client disconnect never reaches a job.
 */
@Injectable()
export class GenerationService implements JobKind<ReplyRow>, OnModuleInit {
  readonly name = 'chat';
  readonly leaseMs: number;
  readonly bootSweepIgnoresLease = false;
  private readonly logger = new Logger(GenerationService.name);
  private readonly writes = new Map<string, number>();
  private readonly deps: ReplyJobDeps;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly log: StreamLog,
    router: AgentRouter,
    private readonly messages: MessageRepository,
    limits: ChatLimitsService,
    metrics: MetricsService,
    private readonly runner: JobRunner,
  ) {
    this.leaseMs = config.chat.leaseMs;
    this.deps = {
      config: config.chat,
      log,
      router,
      messages,
      limits,
      metrics,
      countWrite: (id) => this.countWrite(id),
      dbWrites: (id) => this.dbWrites(id),
    };
  }

  onModuleInit(): void {
    this.runner.register(this);
  }

  /** The owner that the leases of this process's jobs name (the runner's instance id). */
  get leaseOwner(): string {
    return this.runner.instanceId;
  }

  /**
   * Starts the job at once (its upstream call begins now) and opens the message's stream in the log. The
   * returned promise settles once followers can subscribe; it rejects when the log is unavailable, and the
   * job then stops and finishes the message as `error` (STREAM_UNAVAILABLE).
   */
  start(job: GenerationJob): Promise<void> {
    const key = chatStreamKey(job.messageId);
    // The job runs in this process: its followers here get its events without a trip through the shared log.
    const opened = this.log.open(key, { local: true });
    const reply = new ReplyJob(this.deps, job, opened);
    const ended = (): void => this.log.producerEnded(key);
    this.runner
      .start(this, {
        key,
        renewLease: () => reply.renewLease(),
        run: (ctx) => reply.run(ctx),
      })
      .then(ended, ended);
    return opened;
  }

  /** Stops the reply wherever it is generated (the job persists its partial content as `cancelled`). */
  cancel(reply: ReplyRow): Promise<void> {
    return this.runner.cancel(this, reply);
  }

  /** Database writes made for one message by its job (progress batches, lease renewals and the final write). */
  dbWrites(messageId: string): number {
    return this.writes.get(messageId) ?? 0;
  }

  findStale(limit: number): Promise<ReplyRow[]> {
    return this.messages.findStale(limit);
  }

  keyOf(reply: ReplyRow): string {
    return chatStreamKey(reply.id);
  }

  /** Finishes a reply whose job died as INTERRUPTED (or `cancelled` when a user asked to stop it). */
  async interrupt(reply: ReplyRow, outcome: InterruptOutcome): Promise<boolean> {
    const key = chatStreamKey(reply.id);
    const replay = await this.log.read(key, null).catch(() => null);
    const content = replay?.known ? contentWithEvents(reply.content, replay.events) : reply.content;
    const lastSeq = replay?.known && !replay.finished ? (replay.events[replay.events.length - 1]?.seq ?? 0) : null;
    const finalEventId = lastSeq !== null && !replay?.truncated ? formatEventId(content.length, lastSeq + 1) : null;
    const done = await this.messages.finish(
      reply.teamId,
      reply.id,
      outcome === 'interrupted'
        ? {
            status: 'error',
            content,
            errorCode: INTERRUPTED,
            errorMessage: 'The generation was interrupted',
            finalEventId,
          }
        : { status: 'cancelled', content, finalEventId },
      true,
    );
    if (done && replay?.known && !replay.finished) await this.appendInterrupted(reply.id, outcome, content.length);
    return done;
  }

  private async appendInterrupted(messageId: string, outcome: InterruptOutcome, offset: number): Promise<void> {
    const key = chatStreamKey(messageId);
    try {
      if (outcome === 'interrupted') {
        await this.log.append<ErrorEventData>(
          key,
          'error',
          { code: INTERRUPTED, message: 'The generation was interrupted', messageId },
          offset,
          { finish: true },
        );
      } else {
        await this.log.append(
          key,
          'done',
          { message: 'Stream cancelled', messageId, status: 'cancelled', usage: null },
          offset,
          { finish: true },
        );
      }
    } catch (err) {
      this.logger.warn(`stream ${key}: terminal event not appended: ${(err as Error).message}`);
    }
  }

  private countWrite(messageId: string): void {
    this.writes.set(messageId, (this.writes.get(messageId) ?? 0) + 1);
    if (this.writes.size > WRITE_COUNTS_KEPT) this.writes.delete(this.writes.keys().next().value as string);
  }
}
