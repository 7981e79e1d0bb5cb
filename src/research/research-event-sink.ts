import { Logger } from '@nestjs/common';
import { StreamLog } from 'src/streaming/stream-log';
import { AgentType } from 'src/research/research-agents';
import { ResearchEventRepository } from 'src/research/research-event.repository';

/** The stream-log key of one run of a session. Event ids are `${runNo}-${seq}` (offset = run number). */
export const runStreamKey = (sessionId: string, runNo: number): string => `research:${sessionId}:${runNo}`;

/**
 * Writes the events of one run in order: first to `research_events` (the durable copy a resume falls back
 * to), then to the stream log (live followers, Last-Event-ID replay on any instance). Emission is
 * fire-and-forget for the pipeline; `flush()` waits for everything queued.
 */
export class ResearchEventSink {
  private readonly logger = new Logger(ResearchEventSink.name);
  private tail: Promise<void> = Promise.resolve();
  private seq = 0;
  readonly key: string;

  constructor(
    private readonly log: StreamLog,
    private readonly events: ResearchEventRepository,
    private readonly run: { teamId: string; userId: string; sessionId: string; runNo: number },
  ) {
    this.key = runStreamKey(run.sessionId, run.runNo);
  }

  emit(type: string, data: Record<string, unknown>, agent?: { id: string; type: AgentType }): void {
    const seq = ++this.seq;
    const payload = { ...data, sessionId: this.run.sessionId, timestamp: new Date().toISOString() };
    this.enqueue(async () => {
      await this.events.add(this.run.teamId, {
        sessionId: this.run.sessionId,
        userId: this.run.userId,
        runNo: this.run.runNo,
        seq,
        type,
        agentId: agent?.id ?? null,
        agentType: agent?.type ?? null,
        data: payload,
      });
      const written = await this.log.append(this.key, type, payload, this.run.runNo);
      if (written.seq !== seq) this.logger.warn(`stream ${this.key}: log seq ${written.seq} differs from stored seq ${seq}`);
    });
  }

  /** Runs `job` after everything queued so far (e.g. a session-row update that must keep its place). */
  enqueue(job: () => Promise<void>): void {
    this.tail = this.tail.then(job).catch((err: unknown) => this.logger.error(`stream ${this.key}: ${(err as Error).message}`));
  }

  flush(): Promise<void> {
    return this.tail;
  }

  async finish(): Promise<void> {
    await this.flush();
    await this.log.finish(this.key).catch((err: unknown) => this.logger.error(`finish ${this.key}: ${(err as Error).message}`));
  }
}
