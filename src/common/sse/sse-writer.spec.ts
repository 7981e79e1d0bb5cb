import { mkdtempSync } from 'node:fs';
import { createServer, get, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { DrainService } from 'src/common/drain/drain.service';
import { SseFrame } from 'src/common/sse/sse-format';
import { SseCloseInfo, SseConnection, writeSse, writeSseOrJson } from 'src/common/sse/sse-writer';
import { loadConfig } from 'src/config/env';
import { MemoryStreamLog } from 'src/streaming/memory-stream-log';
import { parseEventId, StreamEvent } from 'src/streaming/stream-event';
import { SlowConsumerError } from 'src/streaming/streaming.errors';

const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: mkdtempSync(join(tmpdir(), 'sse-writer-')) });

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function open(url: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, { headers }, resolve).on('error', reject));
}

/** Reads the body to its end (or until the connection drops). */
function body(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (text += c));
    res.on('end', () => resolve(text));
    res.on('close', () => resolve(text));
    res.resume();
  });
}

const idsIn = (text: string): string[] => [...text.matchAll(/^id: (.+)$/gm)].map((m) => m[1]);

describe('writeSse over a real HTTP server', () => {
  let log: MemoryStreamLog;
  let server: Server | undefined;
  beforeEach(() => {
    log = new MemoryStreamLog(config.streaming);
  });
  afterEach(async () => {
    log.onModuleDestroy();
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });

  it('sends SSE headers, a retry hint, id/event/data blocks and ping comments, and ends after the terminal event', async () => {
    await log.append('k', 'status', { description: 'Sending request...', done: false });
    await log.append('k', 'message', { content: 'Hi' }, 2);
    let closed: Promise<SseCloseInfo> | undefined;
    const s = await serve((req, res) => {
      res.setHeader('X-Correlation-Id', 'corr-1');
      closed = writeSse(res, (flow) => log.follow('k', null, flow), { heartbeatMs: 30, retryMs: 1500 }).then(
        (c) => c.closed,
      );
    });
    server = s.server;
    const res = await open(`${s.url}/stream`);
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-correlation-id': 'corr-1',
    });
    const text = body(res);
    await new Promise((r) => setTimeout(r, 120));
    await log.append('k', 'done', { message: 'Stream completed' });
    await log.finish('k');
    const out = await text;
    expect(out.startsWith('retry: 1500\n\n')).toBe(true);
    expect(out).toContain(
      'id: 0-1\nevent: status\ndata: {"type":"status","data":{"description":"Sending request...","done":false}}\n\n' +
        'id: 2-2\nevent: message\ndata: {"type":"message","data":{"content":"Hi"}}\n\n',
    );
    expect(out).toMatch(/\n: ping\n\n/);
    expect(out.endsWith('id: 2-3\nevent: done\ndata: {"type":"done","data":{"message":"Stream completed"}}\n\n')).toBe(
      true,
    );
    expect(await closed).toEqual({ reason: 'complete', lastEventId: '2-3', error: undefined });
  });

  it('unsubscribes when the client disconnects, leaving the producer and other followers untouched', async () => {
    await log.append('k', 'message', { content: 'a' }, 1);
    let closed: Promise<SseCloseInfo> | undefined;
    const s = await serve((req, res) => {
      closed = writeSse(res, (flow) => log.follow('k', null, flow), { heartbeatMs: 1000 }).then((c) => c.closed);
    });
    server = s.server;
    const other: StreamEvent[] = [];
    log.follow('k', null).subscribe((e) => other.push(e));
    const res = await open(`${s.url}/stream`);
    await new Promise<void>((r) => res.once('data', () => r()));
    expect((await log.stats()).followersByKey.k).toBe(2);
    res.destroy();
    expect((await closed)?.reason).toBe('client-closed');
    expect((await log.stats()).followersByKey.k).toBe(1);
    await log.append('k', 'message', { content: 'b' }, 2);
    await log.append('k', 'done', {});
    await log.finish('k');
    expect(other.map((e) => e.id)).toEqual(['1-1', '2-2', '2-3']);
  });

  it('tells an open client to reconnect (retry: 1000) and ends when the drain begins, counting the subscriber and its events', async () => {
    await log.append('k', 'message', { content: 'a' }, 1);
    const drain = new DrainService(config);
    const metrics = {
      sseSubscriberOpened: jest.fn(),
      sseSubscriberClosed: jest.fn(),
      sseEventSent: jest.fn(),
      sseSlowConsumerDropped: jest.fn(),
    };
    let closed: Promise<SseCloseInfo> | undefined;
    const s = await serve((req, res) => {
      closed = writeSse(res, (flow) => log.follow('k', null, flow), {
        heartbeatMs: 1000,
        drain,
        metrics,
        kind: 'chat',
      }).then((c) => c.closed);
    });
    server = s.server;
    const res = await open(`${s.url}/stream`);
    const text = body(res);
    await new Promise((r) => setTimeout(r, 50));
    await drain.begin();
    const out = await text;
    expect(out.endsWith('retry: 1000\n\n')).toBe(true);
    expect((await closed)?.reason).toBe('complete');
    expect((await log.stats()).followersByKey.k ?? 0).toBe(0);
    expect(metrics.sseSubscriberOpened).toHaveBeenCalledWith('chat');
    expect(metrics.sseSubscriberClosed).toHaveBeenCalledTimes(1);
    expect(metrics.sseEventSent).toHaveBeenCalledWith('chat', 'message');
    expect(metrics.sseSlowConsumerDropped).not.toHaveBeenCalled();
  });

  it('writes nothing when the source factory throws, so the error can still be answered as JSON', async () => {
    const s = await serve((req, res) => {
      writeSse(res, () => Promise.reject(new Error('chat not found')), { heartbeatMs: 1000 }).catch(() => {
        res.statusCode = 404;
        res.setHeader('Content-Type', 'application/json');
        res.end('{"error":"NOT_FOUND"}');
      });
    });
    server = s.server;
    const res = await open(`${s.url}/stream`);
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toBe('application/json');
    expect(await body(res)).toBe('{"error":"NOT_FOUND"}');
  });

  it('answers JSON instead of a stream when the client accepts only application/json', async () => {
    await log.append('k', 'message', {});
    const s = await serve((req, res) => {
      void writeSseOrJson(req, res, { status: 202, body: { streamUrl: '/s' } }, (flow) => log.follow('k', null, flow), {
        heartbeatMs: 1000,
      });
    });
    server = s.server;
    const res = await open(`${s.url}/messages`, { accept: 'application/json' });
    expect(res.statusCode).toBe(202);
    expect(JSON.parse(await body(res))).toEqual({ streamUrl: '/s' });
    expect((await log.stats()).activeFollowers).toBe(0);
  });

  it('drops a client that stops reading as a slow consumer, which then receives every event up to the last id and resumes exactly from it', async () => {
    const big = 'x'.repeat(64 * 1024);
    await log.open('k');
    let connection: SseConnection | undefined;
    const metrics = {
      sseSubscriberOpened: jest.fn(),
      sseSubscriberClosed: jest.fn(),
      sseEventSent: jest.fn(),
      sseSlowConsumerDropped: jest.fn(),
    };
    const s = await serve((req, res) => {
      void writeSse(res, (flow) => log.follow('k', null, { ...flow, queueMax: 20 }), {
        heartbeatMs: 10_000,
        metrics,
        kind: 'chat',
      }).then((c) => (connection = c));
    });
    server = s.server;
    const res = await open(`${s.url}/stream`);
    res.pause();
    const produced: StreamEvent[] = [];
    let info: SseCloseInfo | undefined;
    void connection!.closed.then((i) => (info = i));
    for (let i = 0; i < 2000 && !info; i++) {
      produced.push(await log.append('k', 'message', { i, big }, i));
      await new Promise((r) => setImmediate(r));
    }
    expect(info?.reason).toBe('slow-consumer');
    expect(info?.error).toBeInstanceOf(SlowConsumerError);
    expect((info?.error as SlowConsumerError).lastId).toBe(info?.lastEventId);
    const received = idsIn(await body(res));
    expect(received[received.length - 1]).toBe(info?.lastEventId);
    expect(received).toEqual(produced.slice(0, received.length).map((e) => e.id));
    expect((await log.stats()).droppedSlowConsumers).toBe(1);
    expect(metrics.sseSlowConsumerDropped).toHaveBeenCalledTimes(1);
    expect(metrics.sseSlowConsumerDropped).toHaveBeenCalledWith('chat');

    await log.finish('k');
    const rest: StreamEvent[] = [];
    await new Promise<void>((r) =>
      log.follow('k', parseEventId(info?.lastEventId)).subscribe({ next: (e) => rest.push(e), complete: r }),
    );
    expect([...received, ...rest.map((e) => e.id)]).toEqual(produced.map((e) => e.id));
  });

  it('bounds a source that ignores flow control by maxPendingEvents writes into a full buffer', async () => {
    const frames = new Subject<SseFrame>();
    let connection: SseConnection | undefined;
    const s = await serve((req, res) => {
      void writeSse(res, frames, { heartbeatMs: 10_000, maxPendingEvents: 10 }).then((c) => (connection = c));
    });
    server = s.server;
    const res = await open(`${s.url}/stream`);
    res.pause();
    let info: SseCloseInfo | undefined;
    void connection!.closed.then((i) => (info = i));
    const big = 'y'.repeat(64 * 1024);
    for (let i = 0; i < 2000 && !info; i++) {
      frames.next({ id: `0-${i + 1}`, type: 'message', data: { big } });
      await new Promise((r) => setImmediate(r));
    }
    expect(info?.reason).toBe('slow-consumer');
    expect(frames.observed).toBe(false);
    res.destroy();
  });
});
