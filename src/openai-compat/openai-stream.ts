import type { Request, Response } from 'express';
import { openAiErrorBody, toOpenAiError } from 'src/openai-compat/openai-errors';

/**
 * An AbortSignal that fires when the client goes away before the response ended: the upstream call of a
 * stateless completion is stopped (nobody could resume it).
 */
export function clientGone(req: Request, res: Response): AbortSignal {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  };
  res.on('close', onClose);
  req.on('aborted', onClose);
  return controller.signal;
}

/**
 * Writes OpenAI's stream: `data: <chunk JSON>` per chunk, then `data: [DONE]`. Waits for `drain` when the
 * socket buffer is full (backpressure reaches the upstream read). An error after the first byte is sent
 * as OpenAI does mid-stream, `data: {"error":{…}}`, and the stream ends without `[DONE]`.
 */
export async function writeOpenAiStream(res: Response, chunks: AsyncGenerator<unknown>): Promise<void> {
  openDataStream(res);
  try {
    await writeDataLines(res, chunks);
    if (!res.destroyed) res.end('data: [DONE]\n\n');
  } catch (err) {
    if (!res.destroyed) res.end(`data: ${JSON.stringify(openAiErrorBody(toOpenAiError(err)))}\n\n`);
  } finally {
    await chunks.return(undefined);
  }
}

/** Status and headers of a `data:` stream, sent at once (no proxy buffering, no Nagle delay). */
function openDataStream(res: Response): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('X-Accel-Buffering', 'no');
  res.socket?.setNoDelay(true);
  res.flushHeaders();
}

/** One `data: <JSON>` line per item until the items end or the client leaves, waiting for `drain` when full. */
async function writeDataLines(res: Response, items: AsyncGenerator<unknown>): Promise<void> {
  for await (const item of items) {
    if (res.destroyed) break;
    if (!res.write(`data: ${JSON.stringify(item)}\n\n`)) await drained(res);
  }
}

function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * A plain `data: <JSON>` stream (compat surfaces without a terminator, e.g. Canvalo): one line per item,
 * with backpressure; an error after the first byte ends the response (the items carry their own errors).
 */
export async function writeDataStream(res: Response, items: AsyncGenerator<unknown>): Promise<void> {
  openDataStream(res);
  try {
    await writeDataLines(res, items);
  } finally {
    await items.return(undefined);
    if (!res.destroyed) res.end();
  }
}
