import { Observable, Subscription } from 'rxjs';
import { dependencyFailure } from 'src/common/errors/dependency-failure';
import { StreamCursor } from 'src/streaming/stream-cursor';
import { StreamEvent } from 'src/streaming/stream-event';
import { FollowOptions, StreamLog } from 'src/streaming/stream-log';
import {
  StreamGapError,
  StreamLogUnavailableError,
  StreamTruncatedError,
  StreamUnknownError,
} from 'src/streaming/streaming.errors';

/** Where a resumed stream was served from (for the `streamResumed` metric). */
export type ResumeSource = 'log' | 'database';

/** `F`: what the database part emits (by default stream events; research rebuilds some frames without a seq). */
export interface ResumableStreamParams<F = StreamEvent> {
  /** The stream's key in the log. */
  key: string;
  /** The client's cursor (`@LastEventId()`); null: from the start. */
  after: StreamCursor | null;
  /** Flow control from the SSE writer (`paused`). */
  flow?: Pick<FollowOptions, 'paused'>;
  /**
   * How the log reports a jump in seq (see `FollowOptions.gaps`). `'deliver'` for producers that check
   * continuity themselves in `check` (chats, by content offset); default `'error'`.
   */
  gaps?: FollowOptions['gaps'];
  /**
   * Each event from the log, with the last position the client has: returned as is, replaced (trimmed), or
   * dropped (null). Throwing `StreamGapError` hands the rest of the stream to `fromDatabase`.
   */
  check?: (event: StreamEvent, last: StreamCursor | null) => StreamEvent | null;
  /**
   * The rest of the stream rebuilt from the producer's database, after `last` (the last position the
   * client has: its cursor, or the last event delivered). Called when the log does not (or no longer) hold
   * the stream, dropped events after the cursor (cap, lost Redis), or `check` found a gap.
   */
  fromDatabase: (last: StreamCursor | null) => Observable<StreamEvent | F>;
  /** Called once, for a resume (`after` set), with the source that served it. */
  onResumed?: (source: ResumeSource) => void;
  /** Called when the database takes over, with the log's reason. */
  onFallback?: (reason: Error) => void;
}

/**
 * The log errors after which the database serves the rest: the log does not hold the stream exactly, or
 * cannot be reached (Redis down: the stream goes on from the database, polled at the persist interval,
 * instead of failing). Anything else (slow consumer, shutdown) ends the stream.
 */
const servedFromDatabase = (err: unknown): err is Error =>
  err instanceof StreamUnknownError ||
  err instanceof StreamTruncatedError ||
  err instanceof StreamGapError ||
  err instanceof StreamLogUnavailableError ||
  dependencyFailure(err) === 'redis';

/**
 * The one resumable stream of chats and research: replay after the client's cursor then live, from the
 * stream log; when the log cannot serve it exactly, the rest from the database (the producer's own
 * rebuild), continuing after the last position delivered, so nothing is sent twice and nothing is skipped.
 * Written as one Observable (no per-event operator chain): each event costs a function call.
 */
export function resumableStream<F = StreamEvent>(
  log: StreamLog,
  p: ResumableStreamParams<F>,
): Observable<StreamEvent | F> {
  return new Observable<StreamEvent | F>((subscriber) => {
    let last = p.after;
    let resumeCounted = p.after === null;
    const countResume = (source: ResumeSource): void => {
      if (resumeCounted) return;
      resumeCounted = true;
      p.onResumed?.(source);
    };
    const subs = new Subscription();
    // `let`, not `const`: fallBack may run synchronously inside subscribe(), before the assignment (a const would be
    // in its temporal dead zone there).
    // eslint-disable-next-line prefer-const
    let fromLog: Subscription | undefined;
    let switched = false;
    const fallBack = (err: Error): void => {
      if (switched) return;
      switched = true;
      fromLog?.unsubscribe();
      p.onFallback?.(err);
      countResume('database');
      let rest: Observable<StreamEvent | F>;
      try {
        rest = p.fromDatabase(last);
      } catch (e) {
        subscriber.error(e);
        return;
      }
      subs.add(rest.subscribe(subscriber));
    };
    fromLog = log.follow(p.key, p.after, { paused: p.flow?.paused, gaps: p.gaps }).subscribe({
      next: (e) => {
        if (switched) return;
        countResume('log');
        let out: StreamEvent | null = e;
        if (p.check) {
          try {
            out = p.check(e, last);
          } catch (err) {
            if (!servedFromDatabase(err)) return subscriber.error(err);
            return fallBack(err);
          }
        }
        if (out === null) return;
        // Positions only move forward (a trimmed or re-sent event never takes the cursor back).
        last = { offset: Math.max(last?.offset ?? 0, out.offset), seq: Math.max(last?.seq ?? 0, out.seq) };
        subscriber.next(out);
      },
      error: (err: unknown) => (servedFromDatabase(err) ? fallBack(err) : subscriber.error(err)),
      complete: () => {
        countResume('log');
        subscriber.complete();
      },
    });
    if (switched) fromLog.unsubscribe();
    else subs.add(fromLog);
    return subs;
  });
}
