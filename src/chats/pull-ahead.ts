/**
 * Iterates `source` eagerly: a pump pulls it as fast as it yields into a buffer, so its work (here: the
 * upstream request) starts at once whatever the consumer is doing. The consumer gets everything buffered
 * since its last step as one batch (never empty), so a consumer that fell behind can handle the backlog in
 * one go (here: one stream-log append for a burst of deltas). Items and the final error reach the consumer
 * in order. Stopping the source is the caller's business (here: the job's AbortSignal).
 */
export function pullAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T[]> {
  let buffer: T[] = [];
  let ended = false;
  let failure: { error: unknown } | null = null;
  const waiting: { wake: (() => void) | null } = { wake: null };
  void (async () => {
    try {
      for await (const item of source) {
        buffer.push(item);
        waiting.wake?.();
      }
    } catch (error) {
      failure = { error };
    }
    ended = true;
    waiting.wake?.();
  })();
  return (async function* () {
    for (;;) {
      if (buffer.length) {
        const batch = buffer;
        buffer = [];
        yield batch;
        continue;
      }
      if (ended) {
        if (failure) throw (failure as { error: unknown }).error;
        return;
      }
      await new Promise<void>((resolve) => (waiting.wake = resolve));
      waiting.wake = null;
    }
  })();
}
