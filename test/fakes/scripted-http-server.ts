import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/**
 * Base of the fake LLM servers (plain node:http on 127.0.0.1, port 0). Each request takes the next
 * queued `FakeReply` (or the default one) and is played in the subclass's wire format. Every request
 * is recorded with its headers and body, and with whether the client closed the connection before
 * the response ended (that is how tests prove an abort reached the upstream).
 *
 *   const fake = new FakeOpenAiServer();
 *   const baseUrl = await fake.start();
 *   fake.enqueue({ status: 500 }, { deltas: ['Hi', '!'] }); // first request fails, second streams
 *   ...
 *   await fake.stop();
 */
export interface FakeUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface FakeReply {
  /** HTTP status (default 200). Anything >= 400 sends the provider's JSON error body (or `body`). */
  status?: number;
  /** Extra response headers, e.g. `{ 'retry-after': '1' }`. */
  headers?: Record<string, string>;
  /** A JSON body sent as-is instead of the generated one (error bodies, odd shapes). */
  body?: unknown;
  /** A raw body sent as-is, with `headers['content-type']` (default text/plain). Overrides everything else. */
  rawBody?: string;
  /** Text pieces, one per streamed chunk (default ['Hello', ', ', 'world', '!']). */
  deltas?: string[];
  /** Delay before each delta, in ms (default 0). */
  delayMs?: number;
  /** Delay before the first delta, after the headers (default: delayMs). */
  firstDeltaDelayMs?: number;
  /** Delay before anything is sent, status line included ("hold before first byte"). */
  holdMs?: number;
  /** After this many deltas, send nothing more but keep the connection open (until the client or stop() closes it). */
  stallAfter?: number;
  /** After this many deltas, send one malformed chunk and end the response. */
  malformedAfter?: number;
  /** After this many deltas, destroy the socket (connection reset mid-stream). */
  destroyAfter?: number;
  /** Usage to report (default: 7 prompt tokens, one completion token per delta). */
  usage?: FakeUsage;
  /**
   * Tool calls the model makes after its text, in the provider's wire format (OpenAI: a first
   * `delta.tool_calls` piece with id and name, then one piece per `argumentPieces` item, and
   * `finish_reason: "tool_calls"`; Gemini: one `functionCall` part per call, with the parsed arguments).
   */
  toolCalls?: FakeToolCall[];
}

export interface FakeToolCall {
  id: string;
  name: string;
  /** The arguments' JSON text, in the pieces to stream (joined, it must be valid JSON for Gemini). */
  argumentPieces: string[];
}

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/v1/models/m:streamGenerateContent?alt=sse`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  /** The body parsed as JSON, or undefined if it was not JSON. */
  body: any;
  receivedAt: number;
  /** True once the client closed the connection before the response was complete. */
  clientClosed: boolean;
  /** Resolves when the response ends or the connection closes, whichever happens first. */
  finished: Promise<void>;
}

/** How a subclass writes a streamed reply. */
export interface StreamEncoding {
  contentType: string;
  start?(): string;
  delta(text: string, index: number): string;
  end(usage: FakeUsage): string;
  malformed(): string;
}

const DEFAULT_DELTAS = ['Hello', ', ', 'world', '!'];

export abstract class ScriptedHttpServer {
  readonly requests: RecordedRequest[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly queue: FakeReply[] = [];
  private defaultReply: FakeReply = {};
  private readonly waiters = new Set<() => void>();
  /** Responses this server cut off itself (destroyAfter, stop()): not a client close. */
  private readonly cutByServer = new WeakSet<ServerResponse>();
  private url = '';

  /** Starts listening on 127.0.0.1 with a free port; returns the base URL (no trailing slash). */
  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** Closes every connection (stalled streams included) and the listener. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const wake of this.waiters) wake();
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get baseUrl(): string {
    return this.url;
  }

  /** Queues replies, one per incoming request, in order. */
  enqueue(...replies: FakeReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** The reply used when the queue is empty. */
  setDefault(reply: FakeReply): this {
    this.defaultReply = reply;
    return this;
  }

  /** Forgets queued replies, the default and recorded requests. */
  reset(): this {
    this.queue.length = 0;
    this.defaultReply = {};
    this.requests.length = 0;
    return this;
  }

  get lastRequest(): RecordedRequest | undefined {
    return this.requests[this.requests.length - 1];
  }

  /** Waits until at least `count` requests arrived. */
  async waitForRequests(count: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} requests, got ${this.requests.length}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Resolves when the request's response ended or its connection closed; rejects after `timeoutMs`. */
  async waitForFinish(req: RecordedRequest, timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the request did not finish in time')), timeoutMs);
    });
    try {
      await Promise.race([req.finished, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Does this server answer this path? Others get 404. */
  protected abstract accepts(method: string, path: string): boolean;
  /** The provider's JSON error body for a status. */
  protected abstract errorBody(status: number): unknown;
  /** The streamed encoding for this request, or null to answer with one JSON document. */
  protected abstract encoding(req: RecordedRequest, reply: FakeReply): StreamEncoding | null;
  /** The non-streamed JSON answer. */
  protected abstract jsonReply(req: RecordedRequest, text: string, usage: FakeUsage): unknown;

  /** The non-streamed answer for a reply; override when the shape depends on the deltas. */
  protected jsonFor(req: RecordedRequest, _reply: FakeReply, deltas: string[], usage: FakeUsage): unknown {
    return this.jsonReply(req, deltas.join(''), usage);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rec = await this.record(req, res);
    const reply = this.queue.shift() ?? this.defaultReply;
    if (!this.accepts(rec.method, rec.url.split('?')[0])) {
      this.sendJson(res, 404, reply.headers, this.errorBody(404));
      return;
    }
    if (reply.holdMs) await this.wait(reply.holdMs, rec);
    if (rec.clientClosed || !this.server) return;
    await this.play(rec, res, reply);
  }

  private async play(rec: RecordedRequest, res: ServerResponse, reply: FakeReply): Promise<void> {
    const status = reply.status ?? 200;
    if (reply.rawBody !== undefined) {
      res.writeHead(status, { 'content-type': 'text/plain', ...reply.headers });
      res.end(reply.rawBody);
      return;
    }
    if (status >= 400 || reply.body !== undefined) {
      this.sendJson(res, status, reply.headers, reply.body ?? this.errorBody(status));
      return;
    }
    const deltas = reply.deltas ?? DEFAULT_DELTAS;
    const usage = reply.usage ?? { promptTokens: 7, completionTokens: deltas.length };
    const enc = this.encoding(rec, reply);
    if (!enc) {
      this.sendJson(res, status, reply.headers, this.jsonFor(rec, reply, deltas, usage));
      return;
    }
    res.writeHead(status, { 'content-type': enc.contentType, 'cache-control': 'no-cache', ...reply.headers });
    res.flushHeaders();
    let flushed: Promise<void> = Promise.resolve();
    const write = (data: string): void => {
      flushed = new Promise((resolve) => res.write(data, () => resolve()));
    };
    if (enc.start) write(enc.start());
    for (let i = 0; i <= deltas.length; i++) {
      if (i === reply.stallAfter) return;
      if (i === reply.malformedAfter) {
        res.end(enc.malformed());
        return;
      }
      if (i === reply.destroyAfter) {
        // Let what was written reach the client first, then cut the connection without ending the body.
        await flushed;
        this.cutByServer.add(res);
        res.socket?.destroy();
        return;
      }
      if (i === deltas.length) break;
      const delay = i === 0 ? (reply.firstDeltaDelayMs ?? reply.delayMs) : reply.delayMs;
      if (delay) await this.wait(delay, rec);
      if (rec.clientClosed || !this.server) return;
      write(enc.delta(deltas[i], i));
    }
    res.end(enc.end(usage));
  }

  private sendJson(
    res: ServerResponse,
    status: number,
    headers: Record<string, string> | undefined,
    body: unknown,
  ): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }

  private async record(req: IncomingMessage, res: ServerResponse): Promise<RecordedRequest> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = undefined;
    }
    let done!: () => void;
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      rawBody,
      body,
      receivedAt: Date.now(),
      clientClosed: false,
      finished: new Promise<void>((r) => (done = r)),
    };
    res.on('close', () => {
      if (!res.writableFinished && !this.cutByServer.has(res) && this.server) rec.clientClosed = true;
      done();
    });
    this.requests.push(rec);
    return rec;
  }

  /** Sleeps, waking early when the client goes away or the server stops. */
  private wait(ms: number, rec: RecordedRequest): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
      void rec.finished.then(wake);
    });
  }
}
