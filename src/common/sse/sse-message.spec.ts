import { firstValueFrom, Subject, toArray } from 'rxjs';
import { SseFrame } from 'src/common/sse/sse-format';
import { toMessageEvent, toSseMessages } from 'src/common/sse/sse-message';
import { formatSseComment, formatSseFrame, formatSseRetry, prefersEventStream } from 'src/common/sse/sse-format';
import { MemoryStreamLog } from 'src/streaming/memory-stream-log';

describe('SSE helpers for @Sse handlers', () => {
  it('maps a frame to a Nest MessageEvent { id, type, data: { type, data }, retry }', () => {
    expect(toMessageEvent({ id: '2-2', type: 'message', data: { content: 'Hi' } }, 3000)).toEqual({
      id: '2-2',
      type: 'message',
      data: { type: 'message', data: { content: 'Hi' } },
      retry: 3000,
    });
    expect(toMessageEvent({ id: '0-1', type: 'status', data: undefined })).toEqual({
      id: '0-1',
      type: 'status',
      data: { type: 'status', data: null },
    });
  });

  it('puts the retry hint on the first event only, merges ping comments and completes with the source', async () => {
    const frames = new Subject<SseFrame>();
    const out = firstValueFrom(toSseMessages(frames, { heartbeatMs: 20, retryMs: 1500 }).pipe(toArray()));
    frames.next({ id: '0-1', type: 'status', data: {} });
    await new Promise((r) => setTimeout(r, 70));
    frames.next({ id: '0-2', type: 'done', data: {} });
    frames.complete();
    const messages = await out;
    expect(messages[0]).toMatchObject({ id: '0-1', retry: 1500 });
    expect(messages.filter((m) => m.comment === 'ping').length).toBeGreaterThanOrEqual(1);
    expect(messages[messages.length - 1]).toEqual({ id: '0-2', type: 'done', data: { type: 'done', data: {} } });
    expect(messages.filter((m) => m.retry !== undefined)).toHaveLength(1);
  });
});

describe('SSE wire format', () => {
  it('writes id, event and one JSON data line repeating the type, without line breaks in fields', () => {
    expect(formatSseFrame({ id: '5-3', type: 'message', data: { content: 'a\nb' } })).toBe(
      'id: 5-3\nevent: message\ndata: {"type":"message","data":{"content":"a\\nb"}}\n\n',
    );
    expect(formatSseFrame({ id: '1\n2', type: 'x\ry', data: null })).toBe(
      'id: 12\nevent: xy\ndata: {"type":"x\\ry","data":null}\n\n',
    );
    expect(formatSseComment('ping')).toBe(': ping\n\n');
    expect(formatSseRetry(2500)).toBe('retry: 2500\n\n');
  });

  it('serialises a frame once, however many subscribers write it (the log hands them the same event object)', async () => {
    const log = new MemoryStreamLog();
    try {
      await log.open('k');
      const followers = [0, 1, 2].map(() => firstValueFrom(log.follow('k', null).pipe(toArray())));
      await new Promise((r) => setTimeout(r, 10));
      await log.append('k', 'message', { content: 'shared' }, 6);
      await log.finish('k');
      const received = await Promise.all(followers);
      const stringify = jest.spyOn(JSON, 'stringify');
      const texts = received.map((events) => formatSseFrame(events[0]));
      expect(new Set(texts)).toEqual(
        new Set(['id: 6-1\nevent: message\ndata: {"type":"message","data":{"content":"shared"}}\n\n']),
      );
      expect(received[0][0]).toBe(received[2][0]);
      expect(stringify).toHaveBeenCalledTimes(1);
      // A copy (a trimmed or mapped frame) is its own frame and is serialised again.
      formatSseFrame({ ...received[0][0] });
      expect(stringify).toHaveBeenCalledTimes(2);
      stringify.mockRestore();
    } finally {
      log.onModuleDestroy();
    }
  });

  it('prefers an event stream unless the client accepts only JSON', () => {
    expect(prefersEventStream(undefined)).toBe(true);
    expect(prefersEventStream('*/*')).toBe(true);
    expect(prefersEventStream('text/event-stream')).toBe(true);
    expect(prefersEventStream('application/json')).toBe(false);
    expect(prefersEventStream('application/json, text/event-stream')).toBe(true);
  });
});
