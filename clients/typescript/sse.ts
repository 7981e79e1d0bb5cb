import { createParser } from 'eventsource-parser';
import type { paths } from './schema';

/**
 * Hand-written: following a text/event-stream with typed events and resuming with Last-Event-ID on its
 * own. The event types come from the generated schema: each streaming operation's 200 `text/event-stream`
 * schema is a union of `{id, event, data}` objects (data = the parsed `data:` line).
 */
type Methods = 'get' | 'post';

/** The events of the streaming operation `M` of path `P` (never when it does not stream). */
export type EventOf<P extends keyof paths, M extends Methods = 'get'> =
  paths[P] extends Record<M, infer Op>
    ? Op extends { responses: { 200: { content: { 'text/event-stream': infer E } } } }
      ? E
      : never
    : never;

/** The paths whose GET streams events. */
export type StreamPath = { [P in keyof paths]: EventOf<P, 'get'> extends never ? never : P }[keyof paths];

export interface SseEventBase {
  id?: string;
  event: string;
  data: unknown;
}

export interface FollowOptions<E extends SseEventBase> {
  /** Resume after this event id (a previous stream's last one). */
  lastEventId?: string;
  /** Event types after which the stream is over (no reconnect). */
  terminal: E['event'][];
  /** How many reconnects in a row without receiving an event before giving up. Default 5. */
  maxRetries?: number;
  /** Wait before a reconnect (ms); the server's `retry:` hint wins. Default 500. */
  retryDelayMs?: number;
  signal?: AbortSignal;
  /** Called on each reconnect with the Last-Event-ID it sends. */
  onReconnect?: (lastEventId: string | undefined, error: unknown) => void;
}

/**
 * Opens the stream (again) after `lastEventId`; answers the HTTP response. A 204 means the client has the
 * terminal event already: nothing more will come.
 */
export type StreamOpener = (lastEventId: string | undefined) => Promise<Response>;

/** Thrown when the server answers a stream request with an error status (its body is the contract's error). */
export class StreamHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`stream request failed with ${status}`);
    this.name = 'StreamHttpError';
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Yields the events of a stream until a terminal event; when the connection drops before that (network
 * error, server restart, proxy timeout), reopens it with the last event id received, so every event
 * arrives once, in order. `opener(undefined)` is the first request; `opener(id)` each resume.
 */
export async function* followStream<E extends SseEventBase>(
  opener: StreamOpener,
  options: FollowOptions<E>,
): AsyncGenerator<E, void, undefined> {
  let lastEventId = options.lastEventId;
  let retryMs = options.retryDelayMs ?? 500;
  let failures = 0;
  for (;;) {
    if (options.signal?.aborted) return;
    let error: unknown = new Error('the stream ended before its terminal event');
    try {
      const response = await opener(lastEventId);
      if (response.status === 204) return;
      if (!response.ok || !response.body) {
        const body: unknown = await response.json().catch(() => null);
        throw new StreamHttpError(response.status, body);
      }
      const queue: E[] = [];
      const parser = createParser({
        onEvent: (m) => {
          if (!m.event) return;
          // `data` is the parsed `data:` line, `{"type", "data"}`, as the schema describes it.
          queue.push({
            ...(m.id !== undefined ? { id: m.id } : {}),
            event: m.event,
            data: JSON.parse(m.data) as unknown,
          } as E);
        },
        onRetry: (ms) => (retryMs = ms),
      });
      const decoder = new TextDecoder();
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.feed(decoder.decode(value, { stream: true }));
          while (queue.length) {
            const event = queue.shift() as E;
            if (event.id !== undefined) lastEventId = event.id;
            failures = 0;
            yield event;
            if (options.terminal.includes(event.event)) return;
          }
        }
      } finally {
        reader.releaseLock();
      }
    } catch (err) {
      if (err instanceof StreamHttpError && err.status !== 503) throw err;
      if (options.signal?.aborted) return;
      error = err;
    }
    if (++failures > (options.maxRetries ?? 5)) throw error;
    options.onReconnect?.(lastEventId, error);
    await sleep(retryMs, options.signal);
  }
}
