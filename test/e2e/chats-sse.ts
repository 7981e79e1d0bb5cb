import { request as httpRequest, IncomingHttpHeaders } from 'node:http';

/** One parsed SSE event as a client sees it. */
export interface SseEvent {
  id?: string;
  event: string;
  data: { type: string; data: Record<string, unknown> };
}

export interface SseRead {
  status: number;
  headers: IncomingHttpHeaders;
  events: SseEvent[];
  comments: string[];
  retry?: number;
  /** The server ended the response (false: we dropped it after `maxEvents`). */
  ended: boolean;
  body: string;
}

export interface SseReadOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: unknown;
  /** Drop the connection (like a client going away) right after this many events. */
  maxEvents?: number;
  /** Stop reading (without consuming) to simulate a stalled client; resolves after this many ms. */
  pauseAfterHeadersMs?: number;
  timeoutMs?: number;
  /** Called with each event as it arrives (e.g. to inject a fault mid-stream). */
  onEvent?: (e: SseEvent, count: number) => void;
}

/** A raw SSE client over node:http: parses `id/event/data/retry` blocks and `:` comments. */
export function readSse(url: string, o: SseReadOptions = {}): Promise<SseRead> {
  return new Promise((resolve, reject) => {
    const out: SseRead = { status: 0, headers: {}, events: [], comments: [], ended: false, body: '' };
    let buf = '';
    let done = false;
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    const req = httpRequest(url, {
      method: o.method ?? 'GET',
      headers: {
        Accept: 'text/event-stream',
        ...(payload ? { 'Content-Type': 'application/json' } : {}),
        ...o.headers,
      },
    });
    const finish = (ended: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      out.ended = ended;
      resolve(out);
    };
    const timer = setTimeout(() => {
      req.destroy();
      if (!done) reject(new Error(`SSE read timed out: ${JSON.stringify(out.events.slice(-3))}`));
    }, o.timeoutMs ?? 20000);
    req.on('response', (res) => {
      out.status = res.statusCode ?? 0;
      out.headers = res.headers;
      if (o.pauseAfterHeadersMs !== undefined) {
        res.pause();
        setTimeout(() => {
          req.destroy();
          finish(false);
        }, o.pauseAfterHeadersMs);
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (done) return;
        out.body += chunk;
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev: Partial<SseEvent> & { dataText?: string } = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) out.comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) ev.id = line.slice(4);
            else if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('data: ')) ev.dataText = line.slice(6);
            else if (line.startsWith('retry: ')) out.retry = Number(line.slice(7));
          }
          if (ev.event && ev.dataText !== undefined) {
            out.events.push({ id: ev.id, event: ev.event, data: JSON.parse(ev.dataText) });
            o.onEvent?.(out.events[out.events.length - 1], out.events.length);
            if (o.maxEvents !== undefined && out.events.length >= o.maxEvents) {
              req.destroy();
              return finish(false);
            }
          }
        }
      });
      res.on('end', () => finish(true));
      res.on('close', () => finish(res.complete));
    });
    req.on('error', (err) => (done ? undefined : reject(err)));
    if (payload) req.write(payload);
    req.end();
  });
}

export const contentOf = (events: SseEvent[]): string =>
  events
    .filter((e) => e.event === 'message')
    .map((e) => String(e.data.data.content))
    .join('');

/** A small deterministic PRNG (mulberry32) for property tests with a fixed seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
