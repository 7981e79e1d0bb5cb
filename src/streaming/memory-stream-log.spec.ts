import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from 'src/config/env';
import { MemoryStreamLog } from 'src/streaming/memory-stream-log';
import { StreamLogClosedError, StreamUnknownError } from 'src/streaming/streaming.errors';
import { collect, describeStreamLogBehaviour, waitFor } from 'test/medium/streaming/stream-log.behaviour';

const dataDir = mkdtempSync(join(tmpdir(), 'stream-log-memory-'));
const config = (env: Record<string, string> = {}) => loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, ...env });

describeStreamLogBehaviour(
  'memory',
  async (o = {}) => {
    const log = new MemoryStreamLog({ ...config(o.env).streaming, maxEventsPerStream: o.cap });
    return { producer: log, consumer: log, close: async () => log.onModuleDestroy() };
  },
  { trials: 60 },
);

describe('MemoryStreamLog', () => {
  it('holds at most maxEventsPerStream events per stream, dropping the oldest', async () => {
    const log = new MemoryStreamLog({ ...config().streaming, maxEventsPerStream: 10 });
    for (let i = 0; i < 35; i++) await log.append('k', 'message', { i }, i);
    const r = await log.read('k', null);
    expect(r.events.map((e) => e.seq)).toEqual([26, 27, 28, 29, 30, 31, 32, 33, 34, 35]);
    expect(r.truncated).toBe(true);
    expect((await log.stats()).eventsHeld).toBe(10);
    log.onModuleDestroy();
  });

  it('drops an unfinished stream idle for idleExpirySec and errors its followers with StreamUnknownError', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const log = new MemoryStreamLog({ ...config().streaming, idleExpirySec: 5 });
      await log.append('k', 'message', {});
      let received = 0;
      const followed = collect(log.follow('k', null), () => received++);
      while (received === 0) await new Promise((r) => setImmediate(r));
      jest.advanceTimersByTime(11_000);
      const r = await followed;
      expect(r.got).toHaveLength(1);
      expect(r.error).toBeInstanceOf(StreamUnknownError);
      expect((r.error as StreamUnknownError).lastId).toBe('0-1');
      expect((await log.read('k', null)).known).toBe(false);
      log.onModuleDestroy();
    } finally {
      jest.useRealTimers();
    }
  });

  it('ends live followers with StreamLogClosedError on shutdown', async () => {
    const log = new MemoryStreamLog(config().streaming);
    await log.open('k');
    const followed = collect(log.follow('k', null));
    await waitFor(async () => (await log.stats()).activeFollowers === 1);
    log.onModuleDestroy();
    expect((await followed).error).toBeInstanceOf(StreamLogClosedError);
  });
});
