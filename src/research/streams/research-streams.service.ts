import { Inject, Injectable } from '@nestjs/common';
import { catchError, concat, defer, EMPTY, from, map, mergeMap, Observable, of } from 'rxjs';
import { AuthUser } from 'src/common/auth-user';
import { mapPage } from 'src/common/pagination/keyset';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { SseFlowControl } from 'src/common/sse/sse-writer';
import { SseFrame } from 'src/common/sse/sse-format';
import { addHeartbeat } from 'src/common/sse/sse-heartbeat';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { resumableStream } from 'src/streaming/resumable-stream';
import { StreamCursor } from 'src/streaming/stream-cursor';
import { StreamEvent, parseEventId } from 'src/streaming/stream-event';
import { StreamLog } from 'src/streaming/stream-log';
import { AgentHistoryListDto, AgentHistoryQueryDto } from 'src/research/dto/agent-history.dto';
import { ResearchEvent } from 'src/research/entities/research-event.entity';
import { ResearchSession } from 'src/research/entities/research-session.entity';
import { TERMINAL_EVENTS } from 'src/research/pipeline/research-agents';
import { runStreamKey } from 'src/research/runs/research-event-sink';
import { ResearchEventRepository } from 'src/research/streams/research-event.repository';
import { ResearchSessionsService } from 'src/research/sessions/research-sessions.service';
import { ResearchSessionRepository } from 'src/research/sessions/research-session.repository';
import { sessionWakeKey } from 'src/research/runs/research-runs.service';
import { ResearchErrors } from 'src/research/research.errors';
import { SESSION_ID_PATTERN } from 'src/research/sessions/session-id.pipe';
import { toAgentHistoryItem } from 'src/research/sessions/research-session.mapper';

/** A stream waiting for a session's next run looks at the session row this often even without a wake-up. */
const SESSION_POLL_MS = 2000;
/** A run whose log is not open yet (the instant after its start) is looked at again after this. */
const RUN_RETRY_MS = 50;

const AGENT_EVENTS = new Set(['agent_start', 'agent_complete']);

/**
 * The SSE feeds of research: the run stream (replay after Last-Event-ID, then live, from the stream log or,
 * once the log no longer holds the run, from `research_events`), the agent-network stream, the history.
 */
@Injectable()
export class ResearchStreamsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: ResearchSessionsService,
    private readonly events: ResearchEventRepository,
    private readonly sessionRows: ResearchSessionRepository,
    private readonly log: StreamLog,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * The agent network of the whole session, for clients that keep one stream (Vana): `agent_network_connection`,
   * then of every run `agent_start`, `agent_complete` and `agent_network_update` (from each progress and the
   * terminal event), with heartbeats; the same waiting and lifetime as followSession.
   */
  async followSessionNetwork(user: AuthUser, sessionId: string, flow: SseFlowControl): Promise<Observable<SseFrame>> {
    const frames = await this.followSession(user, sessionId, null, flow);
    return frames.pipe(
      mergeMap((f): SseFrame[] => {
        if (f.type === 'connection') return [{ type: 'agent_network_connection', data: f.data }];
        if (f.type === 'heartbeat') return [f];
        return networkFrames({ id: f.id, type: f.type, data: f.data } as StreamEvent);
      }),
    );
  }

  /**
   * A stream of the whole session, for clients that open it once and keep it (Vana): `connection`, then the
   * events of every run of the session as it happens, with `heartbeat` events, until the client leaves.
   * - Opened before the session or its first run exists (or while pending), it waits and delivers the run
   *   from its first event once it starts (a wake-up through the control channel, on any instance; a poll
   *   of the session row every 2 s as a safety net). Only an id that is another user's or team's is a 404.
   * - After a run's terminal event it stays open and delivers the next run (a follow-up question).
   * - Without Last-Event-ID, a run that is going on is delivered from its start, one that has ended is not
   *   (it is in the session: report, messages). A Last-Event-ID of the current run resumes exactly after it
   *   (nothing is repeated, and at the terminal event it waits for the next run); one of an older run
   *   delivers the current run from its start.
   */
  async followSession(
    user: AuthUser,
    sessionId: string,
    after: StreamCursor | null,
    flow: SseFlowControl,
  ): Promise<Observable<SseFrame>> {
    if (
      !SESSION_ID_PATTERN.test(sessionId) ||
      (await this.sessionRows.isHeldByOther(user.teamId, user.id, sessionId))
    ) {
      throw ResearchErrors.sessionNotFound();
    }
    const connection: SseFrame = {
      type: 'connection',
      data: { status: 'connected', sessionId, timestamp: new Date().toISOString() },
    };
    const runs = new Observable<SseFrame>((subscriber) => {
      let delivered = after;
      let fresh = delivered === null; // no Last-Event-ID: an ended run is not replayed
      let stopped = false;
      let inner: { unsubscribe(): void } | null = null;
      let wake: (() => void) | null = null;
      const unsubscribeControl = this.log.onControl((key) => {
        if (key === sessionWakeKey(sessionId)) wake?.();
      });
      const sleep = () =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(done, SESSION_POLL_MS);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          wake = done;
        }).finally(() => (wake = null));
      const loop = async () => {
        while (!stopped) {
          const session = await this.sessionRows.findOwned(user.teamId, user.id, sessionId);
          const final = parseEventId(session?.finalEventId);
          const ended = session && session.status !== 'running';
          const seen = delivered && session && delivered.offset === session.runNo ? delivered : null;
          const pending =
            session &&
            session.runNo > 0 &&
            !(ended && fresh) &&
            !(ended && seen && final && final.offset === session.runNo && seen.seq >= final.seq) &&
            !(delivered && session && delivered.offset > session.runNo);
          if (!session || !pending) {
            // Between runs: a later Last-Event-ID of the ended run says nothing new; wait for the next run.
            if (session && ended && fresh && session.runNo > 0)
              delivered = { offset: session.runNo, seq: Number.MAX_SAFE_INTEGER };
            fresh = false;
            await sleep();
            continue;
          }
          fresh = false;
          let terminal = false;
          await new Promise<void>((resolve, reject) => {
            inner = this.runEvents(session, seen, flow).subscribe({
              next: (frame) => {
                const id = parseEventId(frame.id);
                if (id) delivered = id;
                if (TERMINAL_EVENTS.has(frame.type)) terminal = true;
                subscriber.next(frame);
              },
              error: reject,
              complete: resolve,
            });
          });
          inner = null;
          if (terminal) {
            // The run is over for this stream: the next one (a higher run number) is what comes next.
            delivered = { offset: session.runNo, seq: Number.MAX_SAFE_INTEGER };
          } else if (!stopped) {
            // The run was just started and its log not open yet (or the follow broke): look again shortly,
            // resuming after what was delivered.
            await new Promise((r) => setTimeout(r, RUN_RETRY_MS));
          }
        }
      };
      loop().catch((err: unknown) => {
        if (!stopped) subscriber.error(err);
      });
      return () => {
        stopped = true;
        unsubscribeControl();
        inner?.unsubscribe();
        wake?.();
      };
    });
    return this.withHeartbeats(sessionId, connection, runs);
  }

  /**
   * `connection` (no id: it is about this connection, not the run), then the current run's events after
   * `after` (the client's Last-Event-ID; an id of an older run replays the current run from its start),
   * `heartbeat` events (no id) while it is open; ends after `research_complete` / `error`. Null when the
   * client already has the terminal event of the current run, which has ended (`StreamCursor.isComplete`,
   * the rule chats use: nothing more will ever come, 204). No error frame on a broken follow (slow
   * consumer, shutdown): the stream just ends and the client resumes.
   */
  async run(
    user: AuthUser,
    sessionId: string,
    after: StreamCursor | null,
    flow: SseFlowControl,
  ): Promise<Observable<SseFrame> | null> {
    const session = await this.sessions.requireOwned(user, sessionId);
    if (StreamCursor.isComplete(after, { ended: session.status !== 'running', finalEventId: session.finalEventId }))
      return null;
    const connection: SseFrame = {
      type: 'connection',
      data: {
        status: 'connected',
        sessionId,
        runNo: session.runNo,
        sessionStatus: session.status,
        timestamp: new Date().toISOString(),
      },
    };
    if (session.runNo === 0) return of(connection);
    return this.withHeartbeats(
      sessionId,
      connection,
      this.runEvents(session, after && after.offset === session.runNo ? after : null, flow),
    );
  }

  /**
   * `head`, then `frames` with a `heartbeat` event (no id) every `SSE_HEARTBEAT_MS` until they end: one
   * Observable, so each frame costs a function call rather than a chain of operators.
   */
  private withHeartbeats(sessionId: string, head: SseFrame, frames: Observable<SseFrame>): Observable<SseFrame> {
    return new Observable<SseFrame>((subscriber) => {
      subscriber.next(head);
      // The shared heartbeat (sse-heartbeat.ts): one timer for all open streams, not one per stream.
      const offHeartbeat = addHeartbeat(this.config.streaming.heartbeatMs, {
        ping: () => subscriber.next({ type: 'heartbeat', data: { sessionId, timestamp: new Date().toISOString() } }),
      });
      const sub = frames.subscribe(subscriber);
      return () => {
        offHeartbeat();
        sub.unsubscribe();
      };
    });
  }

  /**
   * `agent_network_connection`, `agent_network_snapshot` (every agent's state now), then `agent_start`,
   * `agent_complete` and `agent_network_update` (from each progress event) live; ends with the run.
   */
  async network(user: AuthUser, sessionId: string, flow: SseFlowControl): Promise<Observable<SseFrame>> {
    const session = await this.sessions.requireOwned(user, sessionId);
    const stored = session.runNo ? await this.events.listRun(user.teamId, sessionId, session.runNo, 0) : [];
    const latest = [...stored].reverse().find((e) => Array.isArray(e.data.agents));
    const now = () => new Date().toISOString();
    const head: SseFrame[] = [
      { type: 'agent_network_connection', data: { status: 'connected', sessionId, timestamp: now() } },
      {
        type: 'agent_network_snapshot',
        data: {
          sessionId,
          status: session.status,
          phase: session.currentPhase,
          progress: session.progress,
          agents: latest?.data.agents ?? [],
          timestamp: now(),
        },
      },
    ];
    const lastStored = stored[stored.length - 1];
    if (!session.runNo || session.status !== 'running' || (lastStored && TERMINAL_EVENTS.has(lastStored.type)))
      return from(head);
    const cursor = lastStored ? { offset: session.runNo, seq: lastStored.seq } : null;
    const live = this.log.follow(runStreamKey(sessionId, session.runNo), cursor, { paused: flow.paused }).pipe(
      catchError(() => EMPTY),
      mergeMap((e) => networkFrames(e)),
    );
    return concat(from(head), live);
  }

  async history(user: AuthUser, q: AgentHistoryQueryDto): Promise<AgentHistoryListDto> {
    const page = await this.events.listAgentHistory(user.teamId, user.id, { limit: q.limit ?? 20, cursor: q.cursor });
    return mapPage(page, toAgentHistoryItem);
  }

  /**
   * The run's events after `after` (a cursor of this run: offset = run number), with the shared resumable
   * stream: from the log; from `research_events` where the log no longer has them.
   */
  private runEvents(session: ResearchSession, after: StreamCursor | null, flow: SseFlowControl): Observable<SseFrame> {
    return resumableStream<SseFrame>(this.log, {
      key: runStreamKey(session.id, session.runNo),
      after,
      flow,
      fromDatabase: (last) => this.fromDatabase(session, last?.seq ?? 0, flow),
      onResumed: (source) => this.metrics.streamResumed('research', source),
    });
  }

  /**
   * Stored events after `afterSeq` up to the terminal one; if the run is still going on (truncated log),
   * follow the log again. A run that has ended but whose events are gone (retention deleted them, or a run
   * from before terminal events were stored) ends with its terminal event rebuilt from the session row.
   */
  private fromDatabase(session: ResearchSession, afterSeq: number, flow: SseFlowControl): Observable<SseFrame> {
    return defer(async () => this.events.listRun(session.teamId, session.id, session.runNo, afterSeq)).pipe(
      mergeMap((rows: ResearchEvent[]) => {
        const end = rows.findIndex((e) => TERMINAL_EVENTS.has(e.type));
        const kept = end >= 0 ? rows.slice(0, end + 1) : rows;
        const frames = kept.map((e) =>
          toFrame({ id: `${e.runNo}-${e.seq}`, seq: e.seq, offset: e.runNo, type: e.type, data: e.data }),
        );
        if (end >= 0) return from(frames);
        const lastSeq = kept[kept.length - 1]?.seq ?? afterSeq;
        if (session.status !== 'running') {
          const terminal = terminalFromSession(session, lastSeq);
          return from(terminal ? [...frames, terminal] : frames);
        }
        const more = this.log
          .follow(
            runStreamKey(session.id, session.runNo),
            { offset: session.runNo, seq: lastSeq },
            { paused: flow.paused },
          )
          .pipe(
            map(toFrame),
            catchError(() => EMPTY),
          );
        return concat(from(frames), more);
      }),
    );
  }
}

/**
 * The terminal event of the session's ended run, rebuilt from the session row (status, report, error) with
 * the id it had (`final_event_id`); null when the client is past it. `agents` is empty: the agent states
 * lived in the deleted events.
 */
export function terminalFromSession(session: ResearchSession, afterSeq: number): SseFrame | null {
  const final = parseEventId(session.finalEventId);
  const id = final && final.offset === session.runNo ? (session.finalEventId as string) : undefined;
  if (id && final && final.seq <= afterSeq) return null;
  const common = { sessionId: session.id, timestamp: (session.completedAt ?? session.updatedAt).toISOString() };
  if (session.status === 'completed') {
    return {
      id,
      type: 'research_complete',
      data: { status: 'completed', progress: 1, final_report: session.finalReport ?? '', ...common },
    };
  }
  const error = session.error ?? { code: 'INTERRUPTED', message: 'The research ended without a result' };
  return {
    id,
    type: 'error',
    data: { status: session.status, code: error.code, message: error.message, agents: [], ...common },
  };
}

/** The SSE writer puts `{"type", "data"}` on the data line, as Vana's parsers read it. */
function toFrame(e: StreamEvent): SseFrame {
  return { id: e.id, type: e.type, data: e.data };
}

function networkFrames(e: StreamEvent): SseFrame[] {
  const data = e.data as Record<string, unknown>;
  if (AGENT_EVENTS.has(e.type)) return [toFrame(e)];
  if (e.type === 'research_progress' || TERMINAL_EVENTS.has(e.type)) {
    const update = {
      sessionId: data.sessionId,
      phase: data.phase ?? data.status,
      progress: data.progress,
      status: TERMINAL_EVENTS.has(e.type) ? data.status : 'running',
      agents: data.agents,
      timestamp: data.timestamp,
    };
    return [{ id: e.id, type: 'agent_network_update', data: update }];
  }
  return [];
}
