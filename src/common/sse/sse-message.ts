import type { MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import { SseFrame } from 'src/common/sse/sse-format';
import { addHeartbeat } from 'src/common/sse/sse-heartbeat';

/**
 * Helpers for `@Sse()` handlers (Nest 12.5 writes `comment` messages as `: …` lines and accepts
 * `@Sse(path, { method: RequestMethod.POST })`). Give every event an `id`: Nest numbers events without one
 * itself, which would move the client's Last-Event-ID. For streams of the stream log prefer `writeSse`
 * (see the decision in sse-writer.ts).
 */

/** A frame as a Nest MessageEvent: `{ id, type, data: { type, data }, retry }`. */
export function toMessageEvent(frame: SseFrame, retry?: number): MessageEvent {
  const event: MessageEvent = { type: frame.type, data: { type: frame.type, data: frame.data ?? null } };
  if (frame.id !== undefined) event.id = frame.id;
  if (retry !== undefined) event.retry = retry;
  return event;
}

export interface SseMessageOptions {
  /** A `: ping` comment this often while the source is open. */
  heartbeatMs: number;
  /** The `retry:` hint, carried by the first event (a message without an id would get a generated one). */
  retryMs?: number;
}

/** Maps frames to MessageEvents and merges `{ comment: 'ping' }` heartbeats; completes with the source. */
export function toSseMessages(frames: Observable<SseFrame>, options: SseMessageOptions): Observable<MessageEvent> {
  return new Observable<MessageEvent>((subscriber) => {
    let first = true;
    // The shared heartbeat (sse-heartbeat.ts): one timer for all open streams, not one per stream.
    const offHeartbeat = addHeartbeat(options.heartbeatMs, { ping: () => subscriber.next({ comment: 'ping' }) });
    const sub = frames.subscribe({
      next: (frame) => {
        subscriber.next(toMessageEvent(frame, first ? options.retryMs : undefined));
        first = false;
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => subscriber.complete(),
    });
    return () => {
      offHeartbeat();
      sub.unsubscribe();
    };
  });
}
