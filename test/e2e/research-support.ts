import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/** One parsed SSE event (comments and retry lines are dropped). */
export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

export interface ReadSseOptions {
  headers?: Record<string, string>;
  /** Stop (disconnect) once this returns true for the events so far. */
  until?: (events: SseEvent[]) => boolean;
  timeoutMs?: number;
  /** Called once the response headers arrived (the request got past authentication), with the status. */
  onOpen?: (status: number) => void;
}

/** Reads an SSE response with fetch until it ends, `until` holds, or the timeout; returns the status too. */
export async function readSse(
  url: string,
  options: ReadSseOptions = {},
): Promise<{ status: number; events: SseEvent[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 20000);
  const events: SseEvent[] = [];
  try {
    const res = await fetch(url, {
      headers: { accept: 'text/event-stream', ...options.headers },
      signal: controller.signal,
    });
    options.onOpen?.(res.status);
    if (res.status !== 200 || !res.body) return { status: res.status, events };
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const ev = parseBlock(block);
        if (ev) events.push(ev);
        if (ev && options.until?.(events)) {
          controller.abort();
          return { status: 200, events };
        }
      }
    }
    return { status: 200, events };
  } catch (err) {
    if ((err as Error).name === 'AbortError') return { status: 200, events };
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function parseBlock(block: string): SseEvent | null {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('id: ')) id = line.slice(4);
    else if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
  }
  if (!data.length) return null;
  return { id, event, data: JSON.parse(data.join('\n')) };
}

export interface UpstreamCall {
  role: string;
  user: string;
  startedAt: number;
  endedAt: number | null;
  status: number;
  clientClosed: boolean;
}

export interface UpstreamReply {
  status?: number;
  text?: string;
  /** Before the first byte. */
  delayMs?: number;
}

/**
 * An OpenAI-compatible upstream (POST /v1/chat/completions, streamed chunks) that answers by research role:
 * the role is read from the `[research:<role>]` marker of the system prompt. Records when each call started
 * and ended, so tests can measure real overlap of the researchers.
 */
export class ResearchUpstream {
  readonly calls: UpstreamCall[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  url = '';

  constructor(public handler: (role: string, user: string) => UpstreamReply) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  callsOf(role: string): UpstreamCall[] {
    return this.calls.filter((c) => c.role === role);
  }

  /** Highest number of calls of `role` in flight at the same time. */
  maxConcurrency(role: string): number {
    const points = this.callsOf(role).flatMap((c) => [
      { t: c.startedAt, d: 1 },
      { t: c.endedAt ?? Number.MAX_SAFE_INTEGER, d: -1 },
    ]);
    points.sort((a, b) => a.t - b.t || a.d - b.d);
    let cur = 0;
    let max = 0;
    for (const p of points) max = Math.max(max, (cur += p.d));
    return max;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    const messages: Array<{ role: string; content: string }> = body.messages ?? [];
    const system = messages.find((m) => m.role === 'system')?.content ?? '';
    const role = /\[research:([a-z_]+)\]/.exec(system)?.[1] ?? 'unknown';
    const user = messages
      .filter((m) => m.role === 'user')
      .map((m) => m.content)
      .join('\n');
    const call: UpstreamCall = { role, user, startedAt: Date.now(), endedAt: null, status: 200, clientClosed: false };
    this.calls.push(call);
    res.on('close', () => {
      if (!res.writableFinished) call.clientClosed = true;
      call.endedAt ??= Date.now();
    });
    const reply = this.handler(role, user);
    if (reply.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, reply.delayMs);
        res.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (res.destroyed) return;
    call.status = reply.status ?? 200;
    if (call.status >= 400) {
      res.writeHead(call.status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { message: `fake ${call.status}`, type: 'server_error', param: null, code: null } }),
      );
      call.endedAt = Date.now();
      return;
    }
    const base = {
      id: 'chatcmpl-r',
      object: 'chat.completion.chunk',
      created: 1700000000,
      model: String(body.model ?? 'm'),
    };
    const frame = (choices: unknown[], usage?: unknown) =>
      `data: ${JSON.stringify({ ...base, choices, ...(usage ? { usage } : {}) })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(frame([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
    for (const piece of (reply.text ?? 'ok').match(/[\s\S]{1,40}/g) ?? [])
      res.write(frame([{ index: 0, delta: { content: piece }, finish_reason: null }]));
    res.write(frame([{ index: 0, delta: {}, finish_reason: 'stop' }]));
    res.write(frame([], { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 }));
    call.endedAt = Date.now();
    res.end('data: [DONE]\n\n');
  }
}

/** Waits until `check` returns a truthy value (polling), or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 15000,
  stepMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
