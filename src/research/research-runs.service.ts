import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { AuthUser } from 'src/common/auth-user';
import { DrainService } from 'src/common/drain/drain.service';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { LlmService } from 'src/llm/llm.service';
import { StreamLog } from 'src/streaming/stream-log';
import { RunResearchDto } from 'src/research/dto/run-research.dto';
import { ResearchErrors } from 'src/research/research.errors';
import { ResearchEventSink, runStreamKey } from 'src/research/research-event-sink';
import { ResearchEventRepository } from 'src/research/research-event.repository';
import { ResearchMessageRepository } from 'src/research/research-message.repository';
import { errorMessage, ResearchPipeline } from 'src/research/research-pipeline';
import { topicOf } from 'src/research/research-report';
import { ResearchRunRecoveryService } from 'src/research/research-run-recovery.service';
import { ResearchSessionRepository } from 'src/research/research-session.repository';
import { ResearchSessionsService } from 'src/research/research-sessions.service';
import { CancelResearchResponseDto, CreateResearchSessionDto } from 'src/research/dto/create-research-session.dto';
import { ResearchSessionDto } from 'src/research/dto/research-session.dto';
import { ResearchSettingsService } from 'src/research/research-settings.service';
import { ResearchErrorInfo, ResearchStatus } from 'src/research/entities/research-session.entity';

/** The control key a session's waiting streams listen on: a run of the session has started (any instance). */
export const sessionWakeKey = (sessionId: string): string => `research-session:${sessionId}`;

/** How a run is started: the user's query is stored as a session message unless it is one already (regenerate, edit). */
export interface StartRunOptions {
  /** The client's id for the user's message (default `msg_<uuid>_user`); false: do not store the query (it is stored). */
  userMessageId?: string | false;
}

/** `lease_lost`: the run's lease was taken over (it had expired and a sweep ended the run elsewhere). */
type StopReason = 'cancelled' | 'timeout' | 'shutdown' | 'lease_lost';

interface LiveRun {
  teamId: string;
  key: string;
  controller: AbortController;
  stop(reason: StopReason): void;
}

/**
 * Starts, runs and stops research runs. A run lives in the process that started it and holds a lease on its
 * session row, renewed every third of `RESEARCH_LEASE_MS`; when the process dies the lease expires and
 * ResearchRunSweeperService finishes the run as INTERRUPTED. Cancel reaches a run on any instance through
 * the stream log's control channel. Every run has an AbortController (cancel, time limit, shutdown, lost
 * lease) that every agent call of the pipeline honours.
 */
@Injectable()
export class ResearchRunsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ResearchRunsService.name);
  /** Identifies this process in leases. */
  readonly instanceId = `research-${randomUUID()}`;
  private readonly runs = new Map<string, LiveRun>();
  private unsubscribe?: () => void;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: ResearchSessionRepository,
    private readonly events: ResearchEventRepository,
    private readonly messages: ResearchMessageRepository,
    private readonly settings: ResearchSettingsService,
    private readonly recovery: ResearchRunRecoveryService,
    private readonly sessionViews: ResearchSessionsService,
    private readonly llm: LlmService,
    private readonly log: StreamLog,
    @Optional() private readonly metrics?: MetricsService,
    @Optional() private readonly drain?: DrainService,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.log.onControl((key, message) => {
      if (message.type === 'cancel') this.runs.get(key)?.stop('cancelled');
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    for (const run of this.runs.values()) run.stop('shutdown');
  }

  /** The run `runNo` of the session is going on in this process (its lease is renewed here). */
  isRunningHere(sessionId: string, runNo: number): boolean {
    return this.runs.has(runStreamKey(sessionId, runNo));
  }

  /** Canonical create: a new session (the client's id or a UUID) with its first run; answers the session. */
  async create(user: AuthUser, dto: CreateResearchSessionDto): Promise<ResearchSessionDto> {
    const id = dto.id ?? randomUUID();
    await this.start(user, id, { query: dto.query, preferences: dto.preferences }, { userMessageId: dto.messageId });
    return this.sessionViews.get(user, id);
  }

  /** Canonical follow-up question: a new run of the caller's session (409 while one runs); answers the session. */
  async ask(user: AuthUser, sessionId: string, dto: CreateResearchSessionDto): Promise<ResearchSessionDto> {
    await this.sessionViews.requireOwned(user, sessionId);
    await this.start(user, sessionId, { query: dto.query, preferences: dto.preferences }, { userMessageId: dto.messageId });
    return this.sessionViews.get(user, sessionId);
  }

  /** Creates the session (client-chosen id) or restarts it, and starts the pipeline in the background. */
  async start(user: AuthUser, sessionId: string, dto: RunResearchDto, options: StartRunOptions = {}): Promise<{ sessionId: string; runNo: number }> {
    const title = topicOf(dto.query).slice(0, 200) || 'New research';
    const session = await this.sessions.createIfAbsent(user.teamId, user.id, sessionId, title);
    if (!session) throw ResearchErrors.sessionNotFound();
    const chains = await this.settings.resolveChains(user.teamId);
    const { leaseMs } = this.config.research;
    const runNo = await this.sessions.startRun(user.teamId, user.id, sessionId, {
      query: dto.query,
      title,
      preferences: dto.preferences ?? {},
      leaseOwner: this.instanceId,
      leaseMs,
    });
    if (runNo === null) throw ResearchErrors.alreadyRunning();
    if (options.userMessageId !== false) {
      await this.messages.addOnce(user.teamId, user.id, sessionId, {
        messageId: options.userMessageId ?? `msg_${randomUUID()}_user`,
        role: 'user',
        content: dto.query,
        metadata: { runNo },
        sentAt: new Date(),
      });
    }

    const sink = new ResearchEventSink(this.log, this.events, { teamId: user.teamId, userId: user.id, sessionId, runNo });
    try {
      await this.log.open(sink.key);
    } catch (err) {
      await this.sessions.finishRun(user.teamId, sessionId, runNo, {
        status: 'failed',
        phase: 'failed',
        error: { code: ErrorCode.SERVICE_UNAVAILABLE, message: 'The event stream could not be opened' },
        finalEventId: null,
      });
      throw err;
    }
    const controller = new AbortController();
    let reason: StopReason | null = null;
    const run: LiveRun = {
      teamId: user.teamId,
      key: sink.key,
      controller,
      stop: (r) => {
        if (controller.signal.aborted) return;
        reason = r;
        controller.abort(new AppError(ErrorCode.SERVICE_UNAVAILABLE, `research ${r}`));
      },
    };
    this.runs.set(sink.key, run);
    const timer = setTimeout(() => run.stop('timeout'), this.config.research.timeLimitMs);
    timer.unref();
    const lease = setInterval(() => {
      this.sessions
        .renewLease(user.teamId, sessionId, runNo, this.instanceId, leaseMs)
        .then((held) => {
          if (held || !this.runs.has(sink.key)) return;
          // Our lease had expired and a sweep ended the run: write nothing more, stop every agent call.
          this.logger.warn(`research run ${sessionId}#${runNo} lost its lease; stopping it`);
          sink.seal();
          run.stop('lease_lost');
        })
        .catch((err: unknown) => this.logger.warn(`research run ${sessionId}#${runNo}: lease not renewed: ${errorMessage(err)}`));
    }, Math.max(10, Math.floor(leaseMs / 3)));
    lease.unref();

    const pipeline = new ResearchPipeline(
      dto.query,
      {
        complete: (chain, messages, signal) => this.llm.complete(chain, messages, signal),
        chains,
        maxParallel: this.config.research.maxParallelResearchers,
        emit: (type, data, agent) => sink.emit(type, data, agent),
        progress: (progress, phase) => sink.enqueue(() => this.sessions.recordProgress(user.teamId, sessionId, runNo, progress, phase)),
      },
      controller.signal,
    );
    sink.emit('research_started', { query: dto.query, title, runNo, status: 'running', agents: pipeline.agentStates });

    this.metrics?.sseStreamStarted('research');
    const done = (async () => {
      try {
        const report = await pipeline.run();
        pipeline.finish();
        clearInterval(lease);
        await sink.end('research_complete', { status: 'completed', progress: 1, final_report: report }, async (finalEventId) => {
          const owned = await this.sessions.finishRun(user.teamId, sessionId, runNo, { status: 'completed', progress: 1, phase: 'completed', finalReport: report, finalEventId });
          if (!owned) return false;
          // The report is the assistant's answer in the session's messages (a reload shows it; regenerate targets it).
          await this.messages.addOnce(user.teamId, user.id, sessionId, {
            messageId: `msg_${randomUUID()}_assistant`,
            role: 'assistant',
            content: report,
            metadata: { runNo, kind: 'research-report' },
            sentAt: new Date(),
          });
          return true;
        });
      } catch (err) {
        clearInterval(lease);
        if (reason === 'lease_lost') return;
        const outcome = this.failure(reason, err);
        const agents = pipeline.settle(outcome.status === 'cancelled' ? 'cancelled' : 'failed');
        await sink.end('error', { status: outcome.status, code: outcome.error.code, message: outcome.error.message, agents }, (finalEventId) =>
          this.sessions.finishRun(user.teamId, sessionId, runNo, { status: outcome.status, phase: outcome.status, error: outcome.error, finalEventId }),
        );
      } finally {
        clearTimeout(timer);
        clearInterval(lease);
        this.runs.delete(sink.key);
        await sink.finish();
      }
    })()
      .catch((err: unknown) => this.logger.error(`research run ${sessionId}#${runNo} crashed: ${errorMessage(err)}`))
      .finally(() => this.metrics?.sseStreamEnded('research'));
    // A drain waits for the run's final writes (a run stopped by the shutdown still records its outcome).
    void this.drain?.track(done);
    // Streams that wait for the session's next run (on any instance) wake up now instead of at their next poll.
    this.log.publishControl(sessionWakeKey(sessionId), { type: 'run_started', runNo }).catch((err: unknown) =>
      this.logger.warn(`research run ${sessionId}#${runNo}: wake-up not published: ${errorMessage(err)}`),
    );

    return { sessionId, runNo };
  }

  /** Stops the caller's running session on whichever instance runs it. */
  async cancel(user: AuthUser, sessionId: string): Promise<CancelResearchResponseDto> {
    const session = await this.sessions.findOwned(user.teamId, user.id, sessionId);
    if (!session) throw ResearchErrors.sessionNotFound();
    if (session.status !== 'running') {
      return { id: sessionId, cancelled: false, status: session.status };
    }
    this.metrics?.streamCancelled('research');
    const local = this.runs.get(runStreamKey(sessionId, session.runNo));
    if (local) local.stop('cancelled');
    else if (!(await this.recovery.interrupt(session, 'cancelled'))) {
      // The run's lease is live: its instance stops it (a run whose process died, with an expired lease,
      // cannot hear the signal and was finished just above).
      await this.log.publishControl(runStreamKey(sessionId, session.runNo), { type: 'cancel' });
    }
    return { id: sessionId, cancelled: true, status: session.status };
  }

  /**
   * Deletes the caller's session with its messages, events and feedback. A running run is stopped first (on
   * whichever instance runs it); its remaining writes find no session and are dropped.
   */
  async remove(user: AuthUser, sessionId: string): Promise<void> {
    const session = await this.sessions.findOwned(user.teamId, user.id, sessionId);
    if (!session) throw ResearchErrors.sessionNotFound();
    if (session.status === 'running') await this.cancel(user, sessionId);
    if (!(await this.sessions.deleteOwned(user.teamId, user.id, sessionId))) throw ResearchErrors.sessionNotFound();
  }

  private failure(reason: StopReason | null, err: unknown): { status: ResearchStatus; error: ResearchErrorInfo } {
    if (reason === 'cancelled') return { status: 'cancelled', error: { code: 'CANCELLED', message: 'Research cancelled by the user' } };
    if (reason === 'timeout') {
      const s = Math.round(this.config.research.timeLimitMs / 1000);
      return { status: 'failed', error: { code: 'RESEARCH_TIME_LIMIT', message: `Research exceeded the time limit of ${s} s and was stopped` } };
    }
    if (reason === 'shutdown') return { status: 'failed', error: { code: 'SERVICE_UNAVAILABLE', message: 'The server shut down during the research; start it again' } };
    const cause = (err as { cause?: unknown })?.cause ?? err;
    const causeCode = (cause as { code?: unknown })?.code;
    const code = typeof causeCode === 'string' || typeof causeCode === 'number' ? String(causeCode) : ErrorCode.INTERNAL;
    return { status: 'failed', error: { code, message: errorMessage(err) } };
  }
}
