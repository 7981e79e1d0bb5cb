import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { AuthUser } from 'src/common/auth-user';
import { DrainService } from 'src/common/drain/drain.service';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { LlmService } from 'src/llm/llm.service';
import { StreamLog } from 'src/streaming/stream-log';
import { RunResearchDto, RunResearchResponseDto } from 'src/research/dto/run-research.dto';
import { ResearchErrors } from 'src/research/research.errors';
import { ResearchEventSink, runStreamKey } from 'src/research/research-event-sink';
import { ResearchEventRepository } from 'src/research/research-event.repository';
import { errorMessage, ResearchPipeline } from 'src/research/research-pipeline';
import { topicOf } from 'src/research/research-report';
import { ResearchSessionRepository } from 'src/research/research-session.repository';
import { ResearchSettingsService } from 'src/research/research-settings.service';
import { ResearchErrorInfo, ResearchStatus } from 'src/research/entities/research-session.entity';

type StopReason = 'cancelled' | 'timeout' | 'shutdown';

interface LiveRun {
  teamId: string;
  key: string;
  controller: AbortController;
  stop(reason: StopReason): void;
}

/**
 * Starts, runs and stops research runs. A run lives in the process that started it; cancel reaches it on
 * any instance through the stream log's control channel. Every run has an AbortController (cancel, time
 * limit, shutdown) that every agent call of the pipeline honours.
 */
@Injectable()
export class ResearchRunsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ResearchRunsService.name);
  private readonly runs = new Map<string, LiveRun>();
  private unsubscribe?: () => void;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: ResearchSessionRepository,
    private readonly events: ResearchEventRepository,
    private readonly settings: ResearchSettingsService,
    private readonly llm: LlmService,
    private readonly log: StreamLog,
    @Optional() private readonly metrics?: MetricsService,
    @Optional() private readonly drain?: DrainService,
  ) {}

  async onModuleInit(): Promise<void> {
    this.unsubscribe = this.log.onControl((key, message) => {
      if (message.type === 'cancel') this.runs.get(key)?.stop('cancelled');
    });
    // Without Redis this process is the only instance: a session still "running" lost its process.
    if (!this.config.redisUrl) {
      const n = await this.sessions.failOrphanedRuns({ code: 'SERVICE_UNAVAILABLE', message: 'The server restarted during the research; start it again' });
      if (n) this.logger.warn(`${n} research run(s) interrupted by a restart were marked failed`);
    }
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    for (const run of this.runs.values()) run.stop('shutdown');
  }

  /** Creates the session (client-chosen id) or restarts it, and starts the pipeline in the background. */
  async start(user: AuthUser, sessionId: string, dto: RunResearchDto): Promise<RunResearchResponseDto> {
    const title = topicOf(dto.query).slice(0, 200) || 'New research';
    const session = await this.sessions.createIfAbsent(user.teamId, user.id, sessionId, title);
    if (!session) throw ResearchErrors.sessionNotFound();
    const chains = await this.settings.resolveChains(user.teamId);
    const runNo = await this.sessions.startRun(user.teamId, user.id, sessionId, { query: dto.query, title, preferences: dto.preferences ?? {} });
    if (runNo === null) throw ResearchErrors.alreadyRunning();

    const sink = new ResearchEventSink(this.log, this.events, { teamId: user.teamId, userId: user.id, sessionId, runNo });
    try {
      await this.log.open(sink.key);
    } catch (err) {
      await this.sessions.finishRun(user.teamId, sessionId, runNo, { status: 'failed', phase: 'failed', error: { code: ErrorCode.SERVICE_UNAVAILABLE, message: 'The event stream could not be opened' } });
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
        await sink.flush();
        await this.sessions.finishRun(user.teamId, sessionId, runNo, { status: 'completed', progress: 1, phase: 'completed', finalReport: report });
        sink.emit('research_complete', { status: 'completed', progress: 1, final_report: report });
      } catch (err) {
        const outcome = this.failure(reason, err);
        await sink.flush();
        await this.sessions.finishRun(user.teamId, sessionId, runNo, { status: outcome.status, phase: outcome.status, error: outcome.error });
        sink.emit('error', { status: outcome.status, code: outcome.error.code, message: outcome.error.message, agents: pipeline.settle(outcome.status === 'cancelled' ? 'cancelled' : 'failed') });
      } finally {
        clearTimeout(timer);
        this.runs.delete(sink.key);
        await sink.finish();
      }
    })()
      .catch((err: unknown) => this.logger.error(`research run ${sessionId}#${runNo} crashed: ${errorMessage(err)}`))
      .finally(() => this.metrics?.sseStreamEnded('research'));
    // A drain waits for the run's final writes (a run stopped by the shutdown still records its outcome).
    void this.drain?.track(done);

    return { success: true, session_id: sessionId, message: 'Research started', timestamp: new Date().toISOString() };
  }

  /** Stops the caller's running session on whichever instance runs it. */
  async cancel(user: AuthUser, sessionId: string): Promise<RunResearchResponseDto> {
    const session = await this.sessions.findOwned(user.teamId, user.id, sessionId);
    if (!session) throw ResearchErrors.sessionNotFound();
    if (session.status !== 'running') {
      return { success: false, session_id: sessionId, message: `Research is not running (status ${session.status})`, timestamp: new Date().toISOString() };
    }
    this.metrics?.streamCancelled('research');
    const key = runStreamKey(sessionId, session.runNo);
    const local = this.runs.get(key);
    if (local) local.stop('cancelled');
    else if ((await this.log.read(key, null, { limit: 1 })).known) await this.log.publishControl(key, { type: 'cancel' });
    else {
      // Nobody holds the run (its process died): close it here so it does not stay "running" forever.
      await this.sessions.finishRun(user.teamId, sessionId, session.runNo, { status: 'cancelled', phase: 'cancelled', error: { code: 'CANCELLED', message: 'Research cancelled' } });
    }
    return { success: true, session_id: sessionId, message: 'Research cancellation requested', timestamp: new Date().toISOString() };
  }

  private failure(reason: StopReason | null, err: unknown): { status: ResearchStatus; error: ResearchErrorInfo } {
    if (reason === 'cancelled') return { status: 'cancelled', error: { code: 'CANCELLED', message: 'Research cancelled by the user' } };
    if (reason === 'timeout') {
      const s = Math.round(this.config.research.timeLimitMs / 1000);
      return { status: 'failed', error: { code: 'RESEARCH_TIME_LIMIT', message: `Research exceeded the time limit of ${s} s and was stopped` } };
    }
    if (reason === 'shutdown') return { status: 'failed', error: { code: 'SERVICE_UNAVAILABLE', message: 'The server shut down during the research; start it again' } };
    const cause = (err as { cause?: unknown })?.cause ?? err;
    const code = String((cause as { code?: unknown })?.code ?? ErrorCode.INTERNAL);
    return { status: 'failed', error: { code, message: errorMessage(err) } };
  }
}
