/**
 * A stream log event. The SSE `id` is `${offset}-${seq}`: `seq` is monotonic per stream (from 1), and
 * `offset` is the producer's content cursor after this event (for chats: the number of UTF-16 code units
 * of assistant content emitted so far; 0 for streams without content). Ordering is by (offset, seq),
 * which is also a valid, strictly increasing Redis Streams id. Because the id carries the offset, a resume
 * can be served exactly from the database after the log has expired.
 */
export interface StreamEvent<T = unknown> {
  id: string;
  seq: number;
  offset: number;
  type: string;
  data: T;
}

export const formatEventId = (offset: number, seq: number): string => `${offset}-${seq}`;

/** Parses a Last-Event-ID; returns null for anything that is not one of ours (treated as "from the start"). */
export function parseEventId(id: string | undefined | null): { offset: number; seq: number } | null {
  if (!id) return null;
  const m = /^(\d{1,15})-(\d{1,15})$/.exec(id.trim());
  if (!m) return null;
  return { offset: Number(m[1]), seq: Number(m[2]) };
}
