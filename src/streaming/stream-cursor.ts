/**
 * A position in a stream: the SSE id `${offset}-${seq}` of its last event, which a client sends back as
 * Last-Event-ID (header or `?lastEventId=`, read once by `@LastEventId()`).
 * - `seq` counts the stream's events from 1 (contiguous per stream).
 * - `offset` is the producer's resume position: a non-decreasing number from which the producer can serve
 *   the rest of the stream from its database once the log no longer holds it. Chats: the UTF-16 code units
 *   of assistant content emitted so far (a resume sends `content.slice(offset)`). Research: the run number
 *   (constant within a run's stream, so a session's runs order by it and a resume reads that run's rows).
 * Cursors order by (offset, seq), which is also a valid, strictly increasing Redis Streams id.
 */
export interface StreamCursor {
  offset: number;
  seq: number;
}

const ID = /^(\d{1,15})-(\d{1,15})$/;

export const StreamCursor = {
  /** Parses an event id; null for anything that is not one of ours (treated as "from the start"). */
  parse(id: string | null | undefined): StreamCursor | null {
    if (!id) return null;
    const m = ID.exec(id.trim());
    if (!m) return null;
    return { offset: Number(m[1]), seq: Number(m[2]) };
  },

  /** The event id of a position. */
  format(c: StreamCursor): string {
    return `${c.offset}-${c.seq}`;
  },

  /** Negative when `a` is before `b`, 0 when equal, positive after (by offset, then seq). */
  compare(a: StreamCursor, b: StreamCursor): number {
    return a.offset - b.offset || a.seq - b.seq;
  },

  /**
   * The one rule for "the client already has the terminal event" (answered with 204, so that an EventSource
   * stops reconnecting): the stream has ended, its terminal event id is known, and the client's cursor is at
   * or after it. Chats and research both ask this, with the id stored when the terminal event was written.
   */
  isComplete(
    cursor: StreamCursor | null,
    stream: { ended: boolean; finalEventId: string | null | undefined },
  ): boolean {
    if (!cursor || !stream.ended) return false;
    const final = StreamCursor.parse(stream.finalEventId);
    return final !== null && StreamCursor.compare(cursor, final) >= 0;
  },
};
