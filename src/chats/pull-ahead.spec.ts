import { pullAhead } from 'src/chats/pull-ahead';

describe('pullAhead', () => {
  it('starts pulling the source before the consumer asks, and yields every item in order', async () => {
    const pulled: number[] = [];
    async function* source() {
      for (let i = 0; i < 3; i++) {
        pulled.push(i);
        yield i;
      }
    }
    const it = pullAhead(source());
    await new Promise((r) => setImmediate(r));
    expect(pulled).toEqual([0, 1, 2]); // nobody has called next() yet
    const batches: number[][] = [];
    for await (const b of it) batches.push(b);
    // All three were buffered before the first step: one batch.
    expect(batches).toEqual([[0, 1, 2]]);
  });

  it('delivers the items produced before a failure, then the failure', async () => {
    async function* source() {
      yield 'a';
      yield 'b';
      throw new Error('upstream broke');
    }
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const b of pullAhead(source())) got.push(...b);
      })(),
    ).rejects.toThrow('upstream broke');
    expect(got).toEqual(['a', 'b']);
  });

  it('waits for items that arrive later', async () => {
    async function* source() {
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 5));
        yield i;
      }
    }
    const batches: number[][] = [];
    for await (const b of pullAhead(source())) batches.push(b);
    // The consumer keeps up: one item per batch, never an empty batch.
    expect(batches).toEqual([[0], [1], [2]]);
  });

  it('hands a consumer that fell behind everything buffered meanwhile, in order', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    async function* source() {
      yield 1;
      await gate;
      for (let i = 2; i <= 5; i++) yield i;
    }
    const it = pullAhead(source());
    expect((await it.next()).value).toEqual([1]);
    release();
    await new Promise((r) => setTimeout(r, 10)); // the consumer is busy; the pump buffers 2..5
    expect((await it.next()).value).toEqual([2, 3, 4, 5]);
    expect((await it.next()).done).toBe(true);
  });
});
