import { randomUUID } from 'node:crypto';
import { ErrorCode } from 'src/common/errors/error-code';
import { AppConfig } from 'src/config/env';
import { JobContext, StopReason } from 'src/jobs/job-kind';
import { LlmService } from 'src/llm/llm.service';
import { ResearchErrorInfo, ResearchStatus } from 'src/research/entities/research-session.entity';
import { ResearchEventSink } from 'src/research/runs/research-event-sink';
import { ResearchMessageRepository } from 'src/research/sessions/research-message.repository';
import { errorMessage, ResearchPipeline } from 'src/research/pipeline/research-pipeline';
import { ResearchSessionRepository } from 'src/research/sessions/research-session.repository';
import { ResearchChains } from 'src/research/sessions/research-settings.service';

/** What a run job uses from its host (ResearchRunsService). */
export interface ResearchRunDeps {
  config: AppConfig['research'];
  sessions: ResearchSessionRepository;
  messages: ResearchMessageRepository;
  llm: LlmService;
}

/** One run of a session, as started: who, which run, the question and the agent chains. */
export interface ResearchRun {
  teamId: string;
  userId: string;
  sessionId: string;
  runNo: number;
  query: string;
  title: string;
  chains: ResearchChains;
  sink: ResearchEventSink;
}

/**
 * One research run as a job of the JobRunner: the pipeline with its events going to the run's sink, then
 * the outcome (report, or the error of a failure, cancel, time limit or shutdown) in the session row and as
 * the terminal event. A run that lost its lease (a sweep elsewhere ended it) writes nothing more.
 */
export class ResearchRunJob {
  constructor(
    private readonly deps: ResearchRunDeps,
    private readonly run: ResearchRun,
  ) {}

  async execute(ctx: JobContext): Promise<void> {
    const { sink } = this.run;
    // Whoever took the lease over wrote the terminal event: from the moment it is known, nothing is written.
    ctx.signal.addEventListener('abort', () => ctx.stopReason === 'lease_lost' && sink.seal(), { once: true });
    const pipeline = this.pipeline(ctx.signal);
    sink.emit('research_started', {
      query: this.run.query,
      title: this.run.title,
      runNo: this.run.runNo,
      status: 'running',
      agents: pipeline.agentStates,
    });
    try {
      const report = await pipeline.run();
      pipeline.finish();
      ctx.stopRenewing();
      await this.complete(report);
    } catch (err) {
      ctx.stopRenewing();
      if (ctx.stopReason !== 'lease_lost') await this.fail(pipeline, ctx.stopReason, err);
    } finally {
      await sink.finish();
    }
  }

  private pipeline(signal: AbortSignal): ResearchPipeline {
    const { teamId, sessionId, runNo, sink } = this.run;
    const { sessions, llm, config } = this.deps;
    return new ResearchPipeline(
      this.run.query,
      {
        complete: (chain, messages, s) => llm.complete(chain, messages, s),
        chains: this.run.chains,
        maxParallel: config.maxParallelResearchers,
        emit: (type, data, agent) => sink.emit(type, data, agent),
        progress: (progress, phase) =>
          sink.enqueue(() => sessions.recordProgress(teamId, sessionId, runNo, progress, phase)),
      },
      signal,
    );
  }

  /** The report in the session row, as the assistant's answer in the session's messages, and as the terminal event. */
  private async complete(report: string): Promise<void> {
    const { teamId, userId, sessionId, runNo, sink } = this.run;
    await sink.end(
      'research_complete',
      { status: 'completed', progress: 1, final_report: report },
      async (finalEventId) => {
        const owned = await this.deps.sessions.finishRun(teamId, sessionId, runNo, {
          status: 'completed',
          progress: 1,
          phase: 'completed',
          finalReport: report,
          finalEventId,
        });
        if (!owned) return false;
        // A reload shows the report; regenerate targets it.
        await this.deps.messages.addOnce(teamId, userId, sessionId, {
          messageId: `msg_${randomUUID()}_assistant`,
          role: 'assistant',
          content: report,
          metadata: { runNo, kind: 'research-report' },
          sentAt: new Date(),
        });
        return true;
      },
    );
  }

  private async fail(pipeline: ResearchPipeline, reason: StopReason | null, err: unknown): Promise<void> {
    const { teamId, sessionId, runNo, sink } = this.run;
    const outcome = this.outcome(reason, err);
    const agents = pipeline.settle(outcome.status === 'cancelled' ? 'cancelled' : 'failed');
    await sink.end(
      'error',
      { status: outcome.status, code: outcome.error.code, message: outcome.error.message, agents },
      (finalEventId) =>
        this.deps.sessions.finishRun(teamId, sessionId, runNo, {
          status: outcome.status,
          phase: outcome.status,
          error: outcome.error,
          finalEventId,
        }),
    );
  }

  private outcome(reason: StopReason | null, err: unknown): { status: ResearchStatus; error: ResearchErrorInfo } {
    if (reason === 'cancelled')
      return { status: 'cancelled', error: { code: 'CANCELLED', message: 'Research cancelled by the user' } };
    if (reason === 'timeout') {
      const s = Math.round(this.deps.config.timeLimitMs / 1000);
      return {
        status: 'failed',
        error: { code: 'RESEARCH_TIME_LIMIT', message: `Research exceeded the time limit of ${s} s and was stopped` },
      };
    }
    if (reason === 'shutdown')
      return {
        status: 'failed',
        error: { code: 'SERVICE_UNAVAILABLE', message: 'The server shut down during the research; start it again' },
      };
    const cause = (err as { cause?: unknown })?.cause ?? err;
    const causeCode = (cause as { code?: unknown })?.code;
    const code =
      typeof causeCode === 'string' || typeof causeCode === 'number' ? String(causeCode) : ErrorCode.INTERNAL;
    return { status: 'failed', error: { code, message: errorMessage(err) } };
  }
}
