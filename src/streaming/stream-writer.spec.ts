import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, take, toArray } from 'rxjs';
import { loadConfig } from 'src/config/env';
import { MemoryStreamLog } from 'src/streaming/memory-stream-log';
import { StreamWriter } from 'src/streaming/stream-writer';
import { StreamLostError, StreamTruncatedError } from 'src/streaming/streaming.errors';

const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: mkdtempSync(join(tmpdir(), 'stream-writer-')) });

describe('StreamWriter and a log that lost the stream', () => {
  let log: MemoryStreamLog;
  beforeEach(() => (log = new MemoryStreamLog(config.streaming)));
  afterEach(() => log.onModuleDestroy());

  it('an append expecting another seq is refused with StreamLostError, never restarted at seq 1', async () => {
    await log.append('k', 'message', { content: 'ab' }, 2, { expectSeq: 0 });
    await expect(log.append('k', 'message', { content: 'c' }, 3, { expectSeq: 0 })).rejects.toBeInstanceOf(
      StreamLostError,
    );
    log.forget('k');
    await expect(log.append('k', 'message', { content: 'c' }, 3, { expectSeq: 1 })).rejects.toMatchObject({
      heldSeq: 0,
      expectedSeq: 1,
    });
    await expect(log.finish('k', { expectSeq: 1 })).rejects.toBeInstanceOf(StreamLostError);
  });

  it('never writes over a stream another writer went on with (the log holds a higher seq)', async () => {
    const w = new StreamWriter(log, 'k', () => []);
    await w.append('a', {});
    await log.append('k', 'b', {}); // e.g. a sweep copying stored events and the terminal one
    await expect(w.append('c', {})).rejects.toMatchObject({ heldSeq: 2, expectedSeq: 1 });
    expect(w.reseeds).toBe(0);
    expect((await log.read('k', null)).events.map((e) => e.type)).toEqual(['a', 'b']);
  });

  it('re-seeds with the seed at the last seq, so the next event keeps its seq and the seed the lost id', async () => {
    let content = '';
    const w = new StreamWriter(log, 'k', () =>
      content ? [{ type: 'message', data: { content }, offset: content.length }] : [],
    );
    await w.append('status', { s: 1 });
    for (const part of ['Hello', ', ', 'world']) {
      const next = content + part;
      await w.append('message', { content: part }, next.length);
      content = next;
    }
    const before = await log.read('k', null);
    expect(before.events.map((e) => e.id)).toEqual(['0-1', '5-2', '7-3', '12-4']);
    log.forget('k'); // as Redis restarted empty
    const done = await w.append('done', { status: 'complete' }, content.length);
    expect(done.id).toBe('12-5');
    expect(w.reseeds).toBe(1);
    const after = await log.read('k', null);
    expect(after.events.map((e) => [e.id, e.type, e.data])).toEqual([
      ['12-4', 'message', { content: 'Hello, world' }],
      ['12-5', 'done', { status: 'complete' }],
    ]);
    // A reader before the jump: strict followers are told (truncated), chat followers take the seed.
    expect(after.truncated).toBe(true);
    await w.finish();
    await expect(firstValueFrom(log.follow('k', { offset: 5, seq: 2 }))).rejects.toBeInstanceOf(StreamTruncatedError);
    const delivered = await firstValueFrom(log.follow('k', { offset: 5, seq: 2 }, { gaps: 'deliver' }).pipe(toArray()));
    expect(delivered.map((e) => e.id)).toEqual(['12-4', '12-5']);
  });

  it('a live follower gets the seed as its next event and no event twice', async () => {
    let content = '';
    const w = new StreamWriter(log, 'k', () => [{ type: 'message', data: { content }, offset: content.length }]);
    content = 'abc';
    await w.append('message', { content: 'abc' }, 3);
    const got = firstValueFrom(log.follow('k', null, { gaps: 'deliver' }).pipe(take(3), toArray()));
    await new Promise((r) => setImmediate(r));
    log.forget('k');
    content = 'abcdef';
    await w.append('message', { content: 'def' }, 6);
    await w.append('message', { content: 'g' }, 7);
    const events = await got;
    // The follower had seq 1 from before the loss; after the re-seed, seq 1 is the seed (a duplicate
    // seq for this follower: ignored), then 2 and 3 follow.
    expect(events.map((e) => e.id)).toEqual(['3-1', '6-2', '7-3']);
  });
});
