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
    const got: number[] = [];
    for await (const x of it) got.push(x);
    expect(got).toEqual([0, 1, 2]);
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
        for await (const x of pullAhead(source())) got.push(x);
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
    const got: number[] = [];
    for await (const x of pullAhead(source())) got.push(x);
    expect(got).toEqual([0, 1, 2]);
  });
});
