/**
 * Errors of the stream log. They are signals for the services that use the log (fall back to the
 * database, let the client reconnect), not client-facing domain errors: a service catches them and decides
 * what the client sees. Each carries `lastId`, the id of the last event the subscriber received (null when
 * it received none), so the caller can resume exactly from there.
 */
export abstract class StreamLogError extends Error {
  protected constructor(
    message: string,
    readonly key: string,
    readonly lastId: string | null,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The log has no such stream (never opened, expired, or its process died): serve it from the database. */
export class StreamUnknownError extends StreamLogError {
  constructor(key: string, lastId: string | null = null) {
    super(`stream ${key} is not in the log`, key, lastId);
  }
}

/**
 * Events after the requested id were dropped by the per-stream cap; `firstAvailableId` is the oldest event
 * still held. The caller serves the gap from the database (the id carries the content offset).
 */
export class StreamTruncatedError extends StreamLogError {
  constructor(
    key: string,
    lastId: string | null,
    readonly firstAvailableId: string,
  ) {
    super(`stream ${key} no longer holds the events after ${lastId ?? 'its start'}`, key, lastId);
  }
}

/** The subscriber fell `queueMax` events behind; it should reconnect from `lastId`. */
export class SlowConsumerError extends StreamLogError {
  constructor(
    key: string,
    lastId: string | null,
    readonly queueMax: number,
  ) {
    super(`subscriber of stream ${key} fell more than ${queueMax} events behind`, key, lastId);
  }
}

/** An append after `finish()`: the producer has already written its terminal event. */
export class StreamFinishedError extends StreamLogError {
  constructor(key: string) {
    super(`stream ${key} is finished; appends are refused`, key, null);
  }
}

/** An append whose offset is below the stream's current offset (offsets never go back). */
export class StreamOffsetError extends StreamLogError {
  constructor(
    key: string,
    readonly offset: number,
    readonly previous: number,
  ) {
    super(`offset ${offset} of stream ${key} is below the previous offset ${previous}`, key, null);
  }
}

/** The log is shutting down; live followers end with this so their clients reconnect elsewhere. */
export class StreamLogClosedError extends StreamLogError {
  constructor(key: string, lastId: string | null) {
    super(`stream log closed while following ${key}`, key, lastId);
  }
}

/**
 * The log no longer holds what the producer appended (Redis restarted empty, flushed, or evicted the
 * stream's keys): the seq it holds (`heldSeq`, 0 when the stream is gone) is not the producer's last one.
 * The producer re-seeds the stream (`StreamLog.reseed`) and appends again; see `StreamWriter`.
 */
export class StreamLostError extends StreamLogError {
  constructor(
    key: string,
    readonly expectedSeq: number,
    readonly heldSeq: number,
  ) {
    super(
      `stream ${key} lost its events: the log holds seq ${heldSeq}, the producer appended up to ${expectedSeq}`,
      key,
      null,
    );
  }
}

/**
 * A consumer found a discontinuity the log could not see by itself (e.g. content offsets that do not
 * join): the part after `lastId` must be served from another source (the database), never skipped.
 */
export class StreamGapError extends StreamLogError {
  constructor(
    key: string,
    lastId: string | null,
    readonly detail: string,
  ) {
    super(`stream ${key} has a gap after ${lastId ?? 'its start'}: ${detail}`, key, lastId);
  }
}

/**
 * The log cannot be reached right now (Redis down or reconnecting). Readers serve the stream from the
 * database instead; a request that cannot do without the log (a cancel that must reach another instance)
 * answers 503 at once rather than waiting for a command timeout. The message matches
 * `dependencyFailure`'s Redis patterns, so the exception filter answers it with 503 and Retry-After.
 */
export class StreamLogUnavailableError extends StreamLogError {
  constructor(key: string, lastId: string | null = null) {
    super(`Redis is unavailable: the stream log cannot serve ${key}`, key, lastId);
  }
}
