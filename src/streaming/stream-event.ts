import { StreamCursor } from 'src/streaming/stream-cursor';

/**
 * A stream log event. The SSE `id` is `${offset}-${seq}` (see `StreamCursor` for what the two numbers mean:
 * `seq` is monotonic per stream from 1, `offset` is the producer's resume position, 0 for streams that need
 * none). Because the id carries the offset, a resume can be served exactly from the database after the log
 * has expired.
 */
export interface StreamEvent<T = unknown> {
  id: string;
  seq: number;
  offset: number;
  type: string;
  data: T;
}

export const formatEventId = (offset: number, seq: number): string => StreamCursor.format({ offset, seq });

/** Parses a Last-Event-ID (`StreamCursor.parse`); null for anything that is not one of ours ("from the start"). */
export const parseEventId = (id: string | undefined | null): StreamCursor | null => StreamCursor.parse(id);
