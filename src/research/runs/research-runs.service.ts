import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuthUser } from 'src/common/auth-user';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { JobRunner } from 'src/jobs/job-runner.service';
import { LlmService } from 'src/llm/llm.service';
import { StreamLog } from 'src/streaming/stream-log';
import { RunResearchDto } from 'src/research/dto/run-research.dto';
import { ResearchErrors } from 'src/research/research.errors';
import { ResearchEventSink } from 'src/research/runs/research-event-sink';
import { ResearchEventRepository } from 'src/research/streams/research-event.repository';
import { ResearchMessageRepository } from 'src/research/sessions/research-message.repository';
import { errorMessage } from 'src/research/pipeline/research-pipeline';
import { topicOf } from 'src/research/pipeline/research-report';
import { ResearchRunDeps, ResearchRunJob } from 'src/research/runs/research-run-job';
import { ResearchRunRecoveryService } from 'src/research/runs/research-run-recovery.service';
import { ResearchSessionRepository } from 'src/research/sessions/research-session.repository';
import { ResearchSessionsService } from 'src/research/sessions/research-sessions.service';
import { CancelResearchResponseDto, CreateResearchSessionDto } from 'src/research/dto/create-research-session.dto';
import { ResearchSessionDto } from 'src/research/dto/research-session.dto';
import { ResearchSettingsService } from 'src/research/sessions/research-settings.service';

/** The control key a session's waiting streams listen on: a run of the session has started (any instance). */
export const sessionWakeKey = (sessionId: string): string => `research-session:${sessionId}`;

/** How a run is started: the user's query is stored as a session message unless it is one already (regenerate, edit). */
export interface StartRunOptions {
  /** The client's id for the user's message (default `msg_<uuid>_user`); false: do not store the query (it is stored). */
  userMessageId?: string | false;
}

/**
 * Starts and stops research runs. A run is a job of the JobRunner: it lives in the process that started it
 * and holds a lease on its session row, which the runner renews; when the process dies the lease expires and
 * a sweep finishes the run as INTERRUPTED (ResearchRunRecoveryService, the research kind of job). Cancel
 * reaches a run on any instance; every agent call of the pipeline honours the job's AbortSignal (cancel,
 * time limit, shutdown, lost lease).
 */
@Injectable()
export class ResearchRunsService {
  private readonly logger = new Logger(ResearchRunsService.name);
  private readonly runDeps: ResearchRunDeps;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: ResearchSessionRepository,
    private readonly events: ResearchEventRepository,
    private readonly messages: ResearchMessageRepository,
    private readonly settings: ResearchSettingsService,
    private readonly recovery: ResearchRunRecoveryService,
    private readonly sessionViews: ResearchSessionsService,
    llm: LlmService,
    private readonly log: StreamLog,
    private readonly runner: JobRunner,
  ) {
    this.runDeps = { config: config.research, sessions, messages, llm };
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
    await this.start(
      user,
      sessionId,
      { query: dto.query, preferences: dto.preferences },
      { userMessageId: dto.messageId },
    );
    return this.sessionViews.get(user, sessionId);
  }

  /** Creates the session (client-chosen id) or restarts it, and starts the pipeline in the background. */
  async start(
    user: AuthUser,
    sessionId: string,
    dto: RunResearchDto,
    options: StartRunOptions = {},
  ): Promise<{ sessionId: string; runNo: number }> {
    const title = topicOf(dto.query).slice(0, 200) || 'New research';
    const chains = await this.settings.resolveChains(user.teamId);
    const runNo = await this.claimRun(user, sessionId, dto, title);
    if (options.userMessageId !== false)
      await this.storeQuery(user, sessionId, runNo, dto.query, options.userMessageId);
    const sink = new ResearchEventSink(this.log, this.events, {
      teamId: user.teamId,
      userId: user.id,
      sessionId,
      runNo,
    });
    await this.openLog(user.teamId, sessionId, runNo, sink.key);
    const job = new ResearchRunJob(this.runDeps, {
      teamId: user.teamId,
      userId: user.id,
      sessionId,
      runNo,
      query: dto.query,
      title,
      chains,
      sink,
    });
    const { leaseMs, timeLimitMs } = this.config.research;
    void this.runner.start(this.recovery, {
      key: sink.key,
      timeLimitMs,
      renewLease: () => this.sessions.renewLease(user.teamId, sessionId, runNo, this.runner.instanceId, leaseMs),
      run: (ctx) => job.execute(ctx),
    });
    // Streams that wait for the session's next run (on any instance) wake up now instead of at their next poll.
    this.log
      .publishControl(sessionWakeKey(sessionId), { type: 'run_started', runNo })
      .catch((err: unknown) =>
        this.logger.warn(`research run ${sessionId}#${runNo}: wake-up not published: ${errorMessage(err)}`),
      );
    return { sessionId, runNo };
  }

  /** The session (created when absent; 404 when it is another user's) marked running with a new run number, leased to this process; 409 while a run goes on. */
  private async claimRun(user: AuthUser, sessionId: string, dto: RunResearchDto, title: string): Promise<number> {
    const session = await this.sessions.createIfAbsent(user.teamId, user.id, sessionId, title);
    if (!session) throw ResearchErrors.sessionNotFound();
    const runNo = await this.sessions.startRun(user.teamId, user.id, sessionId, {
      query: dto.query,
      title,
      preferences: dto.preferences ?? {},
      leaseOwner: this.runner.instanceId,
      leaseMs: this.config.research.leaseMs,
    });
    if (runNo === null) throw ResearchErrors.alreadyRunning();
    return runNo;
  }

  /** The user's query as a session message (the client's id, or `msg_<uuid>_user`). */
  private async storeQuery(
    user: AuthUser,
    sessionId: string,
    runNo: number,
    query: string,
    messageId: string | undefined,
  ): Promise<void> {
    await this.messages.addOnce(user.teamId, user.id, sessionId, {
      messageId: messageId ?? `msg_${randomUUID()}_user`,
      role: 'user',
      content: query,
      metadata: { runNo },
      sentAt: new Date(),
    });
  }

  /** Opens the run's stream; when the log is unavailable the run ends at once as failed and the error goes to the caller. */
  private async openLog(teamId: string, sessionId: string, runNo: number, key: string): Promise<void> {
    try {
      await this.log.open(key);
    } catch (err) {
      await this.sessions.finishRun(teamId, sessionId, runNo, {
        status: 'failed',
        phase: 'failed',
        error: { code: ErrorCode.SERVICE_UNAVAILABLE, message: 'The event stream could not be opened' },
        finalEventId: null,
      });
      throw err;
    }
  }

  /** Stops the caller's running session on whichever instance runs it. */
  async cancel(user: AuthUser, sessionId: string): Promise<CancelResearchResponseDto> {
    const session = await this.sessions.findOwned(user.teamId, user.id, sessionId);
    if (!session) throw ResearchErrors.sessionNotFound();
    if (session.status !== 'running') {
      return { id: sessionId, cancelled: false, status: session.status };
    }
    // A run whose process died (expired lease) cannot hear the signal: it is finished here as cancelled.
    await this.runner.cancel(this.recovery, session);
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
}
