import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { InterruptOutcome, JobKind } from 'src/jobs/job-kind';
import { JobRunner } from 'src/jobs/job-runner.service';
import { StreamLog } from 'src/streaming/stream-log';
import { AgentRunStatus, AgentState } from 'src/research/pipeline/research-agents';
import { runStreamKey } from 'src/research/runs/research-event-sink';
import { ResearchEventRepository } from 'src/research/streams/research-event.repository';
import { ResearchSessionRepository, StaleRun } from 'src/research/sessions/research-session.repository';
import { ResearchErrorInfo, ResearchStatus } from 'src/research/entities/research-session.entity';

/** Error code of a run whose process died (its lease expired). */
export const INTERRUPTED = 'INTERRUPTED';

/**
 * Research runs as a kind of job of the JobRunner (which sweeps it at startup and every lease period on
 * every instance). Ends runs that no process holds any more (their lease expired): the session row first
 * (only when the lease is still expired, so exactly one instance does it and a live run is never touched),
 * then the terminal `error` event in `research_events`, then the stream log when it still has the stream,
 * so its followers end. Progress, the events and the partial results they carry are kept. Without Redis
 * (one instance by design) the startup sweep takes every running session, whatever its lease says.
 */
@Injectable()
export class ResearchRunRecoveryService implements JobKind<StaleRun>, OnModuleInit {
  readonly name = 'research';
  readonly leaseMs: number;
  readonly bootSweepIgnoresLease: boolean;
  private readonly logger = new Logger(ResearchRunRecoveryService.name);

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly sessions: ResearchSessionRepository,
    private readonly events: ResearchEventRepository,
    private readonly log: StreamLog,
    private readonly runner: JobRunner,
  ) {
    this.leaseMs = config.research.leaseMs;
    this.bootSweepIgnoresLease = !config.redisUrl;
  }

  onModuleInit(): void {
    this.runner.register(this);
  }

  findStale(limit: number, ignoreLease: boolean): Promise<StaleRun[]> {
    return this.sessions.findStaleRuns(limit, ignoreLease);
  }

  keyOf(run: StaleRun): string {
    return runStreamKey(run.id, run.runNo);
  }

  /**
   * Finishes `run` as failed/INTERRUPTED (or `cancelled` when a user asked to stop it). `ignoreLease`: at
   * the boot of a single-instance deployment every running run lost its process, whatever its lease says.
   * Returns false when the run was not running with an expired lease (nothing was changed).
   */
  async interrupt(run: StaleRun, outcome: InterruptOutcome, ignoreLease = false): Promise<boolean> {
    const cancelled = outcome === 'cancelled';
    const status: ResearchStatus = cancelled ? 'cancelled' : 'failed';
    const error: ResearchErrorInfo = cancelled
      ? { code: 'CANCELLED', message: 'Research cancelled by the user' }
      : {
          code: INTERRUPTED,
          message: `The server stopped during the research${run.currentPhase ? ` (phase ${run.currentPhase})` : ''}; start it again`,
        };
    const seq = await this.sessions.interruptRun(run.teamId, run.id, run.runNo, { status, error }, ignoreLease);
    if (seq === null) return false;

    const agents = settle(
      (await this.events.latestAgents(run.teamId, run.id, run.runNo)) ?? [],
      cancelled ? 'cancelled' : 'failed',
    );
    const data = {
      status,
      code: error.code,
      message: error.message,
      agents,
      phase: run.currentPhase,
      sessionId: run.id,
      timestamp: new Date().toISOString(),
    };
    const terminalSeq = await this.storeTerminal(run, seq, data);
    if (terminalSeq !== null) await this.finishLog(run, terminalSeq);
    this.logger.warn(`research ${run.id}#${run.runNo} (team ${run.teamId}) finished as ${status} (${error.code})`);
    return true;
  }

  /**
   * Stores the terminal event at `seq`. A run that lost its lease while still alive may have had one event
   * in flight when the session row changed (its writes need the run still running, so at most that one):
   * then the terminal event takes the next seq and the session row's `final_event_id` follows.
   */
  private async storeTerminal(run: StaleRun, seq: number, data: Record<string, unknown>): Promise<number | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = {
        sessionId: run.id,
        userId: run.userId,
        runNo: run.runNo,
        seq,
        type: 'error',
        agentId: null,
        agentType: null,
        data,
      };
      if (await this.events.add(run.teamId, row)) {
        if (attempt) await this.sessions.setFinalEventId(run.teamId, run.id, run.runNo, `${run.runNo}-${seq}`);
        return seq;
      }
      seq = (await this.events.lastSeq(run.teamId, run.id, run.runNo)) + 1;
    }
    this.logger.warn(`research ${run.id}#${run.runNo}: the terminal event could not be stored`);
    return null;
  }

  /** Appends to the log what the database has past the log's last event (up to the terminal one), then finishes it. */
  private async finishLog(run: StaleRun, terminalSeq: number): Promise<void> {
    const key = runStreamKey(run.id, run.runNo);
    try {
      const replay = await this.log.read(key, null);
      if (!replay.known || replay.finished) return;
      const logLast = replay.events[replay.events.length - 1]?.seq ?? 0;
      for (const e of await this.events.listRun(run.teamId, run.id, run.runNo, logLast)) {
        if (e.seq > terminalSeq) break;
        const written = await this.log.append(key, e.type, e.data, run.runNo);
        if (written.seq !== e.seq)
          this.logger.warn(`stream ${key}: log seq ${written.seq} differs from stored seq ${e.seq}`);
      }
      await this.log.finish(key);
    } catch (err) {
      this.logger.warn(`stream ${key}: terminal event not appended to the log: ${(err as Error).message}`);
    }
  }
}

/** The last known agent list with every agent that was still waiting or active marked `status`. */
function settle(agents: unknown[], status: AgentRunStatus): AgentState[] {
  return (agents as AgentState[]).map((a) =>
    a && (a.status === 'active' || a.status === 'waiting') ? { ...a, status } : a,
  );
}
