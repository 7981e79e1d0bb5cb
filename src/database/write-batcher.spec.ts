import { isRowDataError, WriteBatcher } from 'src/database/write-batcher';

/** A stand-in for the database: records each statement (one call = one round trip). */
class Recorder {
  statements: string[][] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Items whose value the "column" refuses (a row data error, SQLSTATE 22001). */
  refuse = new Set<string>();
  down = false;
  async writeMany(items: string[]): Promise<string[]> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.statements.push(items);
    await new Promise((r) => setTimeout(r, 5));
    this.inFlight--;
    if (this.down) throw Object.assign(new Error('connection terminated'), {});
    if (items.some((i) => this.refuse.has(i)))
      throw Object.assign(new Error('value too long'), { driverError: { code: '22001' } });
    return items.map((i) => `ok:${i}`);
  }
}

const batcher = (r: Recorder, key?: (i: string) => string) =>
  new WriteBatcher<string, string>((items) => r.writeMany(items), { maxBatch: 100, key });

describe('WriteBatcher', () => {
  it('writes the items of one turn as one statement, each caller getting its own result', async () => {
    const r = new Recorder();
    const b = batcher(r);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => b.submit(`x${i}`)));
    expect(r.statements).toHaveLength(1);
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => `ok:x${i}`));
  });

  it('items submitted while a statement is in flight join the next one; statements never overlap', async () => {
    const r = new Recorder();
    const b = batcher(r);
    const first = b.submit('a');
    await new Promise((res) => setTimeout(res, 1)); // the first statement is in flight
    const more = ['b', 'c', 'd'].map((i) => b.submit(i));
    await Promise.all([first, ...more]);
    expect(r.statements).toEqual([['a'], ['b', 'c', 'd']]);
    expect(r.maxInFlight).toBe(1);
  });

  it('never puts two items of one key in a statement: the later one waits for the next, in order', async () => {
    const r = new Recorder();
    const b = batcher(r, (i) => i.split(':')[0]);
    await Promise.all(['m1:renew', 'm2:append', 'm1:append', 'm3:append'].map((i) => b.submit(i)));
    expect(r.statements).toEqual([['m1:renew', 'm2:append', 'm3:append'], ['m1:append']]);
  });

  it('splits at maxBatch', async () => {
    const r = new Recorder();
    const b = new WriteBatcher<string, string>((items) => r.writeMany(items), { maxBatch: 2 });
    await Promise.all(['a', 'b', 'c'].map((i) => b.submit(i)));
    expect(r.statements).toEqual([['a', 'b'], ['c']]);
  });

  it('a failed statement fails every caller of its batch (database down), and the next submit writes again', async () => {
    const r = new Recorder();
    const b = batcher(r);
    r.down = true;
    const results = await Promise.allSettled(['a', 'b', 'c'].map((i) => b.submit(i)));
    expect(results.map((x) => x.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(r.statements).toHaveLength(1); // no retry one by one when the database itself failed
    r.down = false;
    await expect(b.submit('d')).resolves.toBe('ok:d');
  });

  it('a value one row refuses fails only its caller: the others are written one by one', async () => {
    const r = new Recorder();
    r.refuse.add('bad');
    const b = batcher(r);
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((i) => b.submit(i)));
    expect(results.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(r.statements).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('flush waits for everything submitted', async () => {
    const r = new Recorder();
    const b = batcher(r);
    void b.submit('a');
    void b.submit('b');
    await b.flush();
    expect(r.statements.flat()).toEqual(['a', 'b']);
  });

  it('tells row data errors (SQLSTATE 22, 23, 54) from the others', () => {
    expect(isRowDataError({ driverError: { code: '22001' } })).toBe(true);
    expect(isRowDataError({ code: '23503' })).toBe(true);
    expect(isRowDataError({ code: '57P01' })).toBe(false);
    expect(isRowDataError(new Error('connection terminated'))).toBe(false);
  });
});
