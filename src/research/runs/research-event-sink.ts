import { Logger } from '@nestjs/common';
import { StreamLog } from 'src/streaming/stream-log';
import { StreamWriter } from 'src/streaming/stream-writer';
import { AgentType } from 'src/research/pipeline/research-agents';
import { ResearchEventRepository } from 'src/research/streams/research-event.repository';

/** The stream-log key of one run of a session. Event ids are `${runNo}-${seq}` (offset = run number). */
export const runStreamKey = (sessionId: string, runNo: number): string => `research:${sessionId}:${runNo}`;

/**
 * Writes the events of one run in order: first to `research_events` (the durable copy a resume falls back
 * to), then to the stream log (live followers, Last-Event-ID replay on any instance). Emission is
 * fire-and-forget for the pipeline; `flush()` waits for everything queued. After the terminal event
 * (`end`), or once the run turned out to be ended elsewhere (`seal`, or a write refused because the session
 * no longer runs this run), nothing more is written.
 */
export class ResearchEventSink {
  private readonly logger = new Logger(ResearchEventSink.name);
  private tail: Promise<void> = Promise.resolve();
  private seq = 0;
  private sealed = false;
  /**
   * The run was ended elsewhere (a sweep that took the lease over wrote the terminal event, or will): the log's
   * stream is then finished by whoever ended the run, after its terminal event, never by this sink. Finishing it
   * here first would end the stream without a terminal event (the sweep does not append to a finished stream).
   */
  private endedElsewhere = false;
  readonly key: string;
  /** Re-seeds with nothing if the log loses the run's stream: followers fill the jump from `research_events`. */
  private readonly writer: StreamWriter;

  constructor(
    private readonly log: StreamLog,
    private readonly events: ResearchEventRepository,
    private readonly run: { teamId: string; userId: string; sessionId: string; runNo: number },
  ) {
    this.key = runStreamKey(run.sessionId, run.runNo);
    this.writer = new StreamWriter(log, this.key, () => []);
  }

  emit(type: string, data: Record<string, unknown>, agent?: { id: string; type: AgentType }): void {
    if (this.sealed) return;
    const seq = ++this.seq;
    this.write(seq, type, data, agent, false);
  }

  /**
   * The terminal event. Waits for everything queued, then `persist(eventId)` records the outcome in the
   * session row (so a client that reads the session after the event sees the final state), then writes the
   * event. When `persist` answers false (the run was ended elsewhere) nothing is written. Returns whether
   * the event was written.
   */
  async end(
    type: string,
    data: Record<string, unknown>,
    persist: (eventId: string) => Promise<boolean>,
  ): Promise<boolean> {
    if (this.sealed) return false;
    this.sealed = true;
    const seq = ++this.seq;
    await this.flush();
    let owned: boolean;
    try {
      owned = await persist(`${this.run.runNo}-${seq}`);
    } catch (err) {
      this.sealed = false; // nothing was emitted meanwhile: the seq can be given back
      this.seq--;
      throw err;
    }
    if (!owned) {
      this.endedElsewhere = true;
      return false;
    }
    this.write(seq, type, data, undefined, true);
    await this.flush();
    return true;
  }

  /** Stops writing (the run lost its lease: whoever ended it wrote the terminal event). */
  seal(): void {
    this.sealed = true;
    this.endedElsewhere = true;
  }

  /** Runs `job` after everything queued so far (e.g. a session-row update that must keep its place). */
  enqueue(job: () => Promise<void>): void {
    this.tail = this.tail
      .then(job)
      .catch((err: unknown) => this.logger.error(`stream ${this.key}: ${(err as Error).message}`));
  }

  flush(): Promise<void> {
    return this.tail;
  }

  async finish(): Promise<void> {
    await this.flush();
    if (this.endedElsewhere) return;
    await this.writer
      .finish()
      .catch((err: unknown) => this.logger.error(`finish ${this.key}: ${(err as Error).message}`));
  }

  private write(
    seq: number,
    type: string,
    data: Record<string, unknown>,
    agent: { id: string; type: AgentType } | undefined,
    terminal: boolean,
  ): void {
    const payload = { ...data, sessionId: this.run.sessionId, timestamp: new Date().toISOString() };
    this.enqueue(async () => {
      const row = {
        sessionId: this.run.sessionId,
        userId: this.run.userId,
        runNo: this.run.runNo,
        seq,
        type,
        agentId: agent?.id ?? null,
        agentType: agent?.type ?? null,
        data: payload,
      };
      // The terminal event follows the session row's final update; every other one needs the run still running.
      const stored = terminal
        ? await this.events.add(this.run.teamId, row)
        : await this.events.addWhileRunning(this.run.teamId, row);
      if (!stored) {
        if (!this.sealed)
          this.logger.warn(`stream ${this.key}: the run was ended elsewhere; event ${seq} and later ones are dropped`);
        this.sealed = true;
        this.endedElsewhere = true;
        return;
      }
      this.writer.advanceTo(seq - 1);
      const written = await this.writer.append(type, payload, this.run.runNo);
      if (written.seq !== seq)
        this.logger.warn(`stream ${this.key}: log seq ${written.seq} differs from stored seq ${seq}`);
    });
  }
}
