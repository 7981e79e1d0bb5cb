import http from 'node:http';

export interface StreamTiming {
  /** ms from sending the request to the first content delta. */
  ttft: number;
  /** Largest gap between two consecutive content deltas, ms. */
  maxGap: number;
  /** performance.now() (bench process clock) at the end of the largest gap. */
  maxGapEnd: number;
  deltas: number;
  /** ms from the first to the last content delta: how the reply was spread over time (a burst: near 0). */
  span: number;
  /** Every gap between two consecutive content deltas, ms. */
  gaps: number[];
  ok: boolean;
  error?: string;
}

export interface SseRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: unknown;
  /** Which SSE frames are content deltas: the service's `event: message`, or OpenAI's `data:` chunks. */
  isDelta: (eventName: string | null, data: string) => boolean;
  /** Stop (and resolve) once this data line is seen. */
  isEnd: (eventName: string | null, data: string) => boolean;
  agent?: http.Agent;
  /** Gives up (ok: false, error 'timed out') after this long; a bench never hangs on one stream. Default 60 s. */
  timeoutMs?: number;
}

/** A minimal SSE client that timestamps each delta as it arrives on the socket. */
export function timeStream(r: SseRequest): Promise<StreamTiming> {
  return new Promise((resolve) => {
    const started = performance.now();
    let first = NaN;
    let last = NaN;
    let maxGap = 0;
    let maxGapEnd = NaN;
    let deltas = 0;
    const gaps: number[] = [];
    let buf = '';
    let eventName: string | null = null;
    let settled = false;
    const done = (ok: boolean, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        ttft: first - started,
        maxGap,
        maxGapEnd,
        deltas,
        span: deltas > 1 ? last - first : 0,
        gaps,
        ok,
        error,
      });
    };
    const timer = setTimeout(() => {
      req.destroy();
      done(false, `timed out after ${deltas} deltas`);
    }, r.timeoutMs ?? 60_000);
    const payload = r.body === undefined ? undefined : JSON.stringify(r.body);
    const req = http.request(
      r.url,
      {
        method: r.method ?? 'GET',
        agent: r.agent,
        headers: {
          Accept: 'text/event-stream',
          ...(payload ? { 'Content-Type': 'application/json' } : {}),
          ...r.headers,
        },
      },
      (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          res.resume();
          return done(false, `HTTP ${res.statusCode}`);
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i).replace(/\r$/, '');
            buf = buf.slice(i + 1);
            if (line === '') {
              eventName = null;
              continue;
            }
            if (line.startsWith('event:')) eventName = line.slice(6).trim();
            else if (line.startsWith('data:')) {
              const data = line.slice(5).trim();
              if (r.isDelta(eventName, data)) {
                const now = performance.now();
                if (deltas === 0) first = now;
                else gaps.push(now - last);
                if (deltas > 0 && now - last > maxGap) {
                  maxGap = now - last;
                  maxGapEnd = now;
                }
                last = now;
                deltas++;
              }
              if (r.isEnd(eventName, data)) {
                req.destroy();
                return done(true);
              }
            }
          }
        });
        res.on('end', () => done(deltas > 0));
        res.on('error', (e) => done(false, e.message));
      },
    );
    req.on('error', (e) => done(false, e.message));
    if (payload) req.write(payload);
    req.end();
  });
}
