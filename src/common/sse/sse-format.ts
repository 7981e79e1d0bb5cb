/**
 * The text/event-stream wire format (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * `common` knows no feature: a frame is anything with an optional id, a type and JSON data, which a
 * stream log event (`StreamEvent`) is.
 */
export interface SseFrame {
  id?: string;
  type: string;
  data: unknown;
}

/** Field values may not contain line breaks; ids and types are ours, this is only a safety net. */
const oneLine = (v: string): string => v.replace(/[\r\n]/g, '');

/**
 * Frames already formatted, by object: the log hands every live follower of a stream the same event object,
 * so an event is serialised once for all its subscribers (frames and event data are immutable once written:
 * see `StreamLog`). Entries go with their frames (a WeakMap holds no frame alive).
 */
const formatted = new WeakMap<SseFrame, string>();

/**
 * `id:`, `event:` and one `data:` line holding `{"type","data"}` (the contract repeats the type in the
 * JSON), then the blank line that dispatches the event. JSON.stringify never emits a raw line break.
 */
export function formatSseFrame(frame: SseFrame): string {
  let text = formatted.get(frame);
  if (text === undefined) {
    const id = frame.id !== undefined ? `id: ${oneLine(frame.id)}\n` : '';
    const data = JSON.stringify({ type: frame.type, data: frame.data ?? null });
    text = `${id}event: ${oneLine(frame.type)}\ndata: ${data}\n\n`;
    formatted.set(frame, text);
  }
  return text;
}

/** A comment line (ignored by clients; keeps proxies and load balancers from closing an idle stream). */
export function formatSseComment(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => `: ${line}\n`)
    .join('')
    .concat('\n');
}

/** The reconnection delay hint for EventSource clients. */
export function formatSseRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.floor(ms))}\n\n`;
}

/**
 * Content negotiation for endpoints that answer either with a stream or with JSON (POST messages):
 * an event stream unless the client asks for JSON without also accepting `text/event-stream`.
 */
export function prefersEventStream(accept: string | undefined): boolean {
  if (!accept) return true;
  const a = accept.toLowerCase();
  if (a.includes('text/event-stream')) return true;
  return !a.includes('application/json');
}
