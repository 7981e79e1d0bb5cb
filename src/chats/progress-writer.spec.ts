import { Repository } from 'typeorm';
import { Message } from 'src/chats/entities/message.entity';
import { MessageRepository } from 'src/chats/message.repository';
import { ProgressWriter } from 'src/chats/progress-writer';

/** A stand-in for the messages table behind MessageRepository: records each statement (one call = one round trip). */
class Db {
  statements: { sql: string; params: unknown[] }[] = [];
  fail = false;
  query(sql: string, params: unknown[]): Promise<{ id: string }[]> {
    this.statements.push({ sql, params });
    if (this.fail) return Promise.reject(new Error('connection terminated'));
    return Promise.resolve([]);
  }
  /** The rows of a progress statement: [id, teamId, kind, text, leaseMs] each. */
  rows(i: number): unknown[][] {
    const p = this.statements[i].params;
    return Array.from({ length: p.length / 5 }, (_, k) => p.slice(k * 5, k * 5 + 5));
  }
}

/**
 * Fake time (timers and Date), moved 1 ms at a time with the real setImmediate run in between, so a write
 * submitted at one ms is a statement of its own unless another came in the same turn (as with real timers).
 */
async function sleep(ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    jest.advanceTimersByTime(1);
    for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
  }
}

beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
afterEach(() => jest.useRealTimers());

function setup(n: number) {
  const db = new Db();
  const messages = new MessageRepository(db as unknown as Repository<Message>);
  const writes: number[] = Array.from({ length: n }, () => 0);
  const writers = Array.from(
    { length: n },
    (_, i) =>
      new ProgressWriter(messages, {
        teamId: `team-${i % 2}`,
        messageId: `m${i}`,
        persistIntervalMs: 30,
        persistChars: 1_000_000,
        leaseMs: 60_000,
        onWrite: () => writes[i]++,
      }),
  );
  return { db, messages, writers, writes };
}

describe('ProgressWriter with the batched MessageRepository', () => {
  it('writers started at different times tick together: their interval writes are one statement', async () => {
    const db = new Db();
    const messages = new MessageRepository(db as unknown as Repository<Message>);
    const writers: ProgressWriter[] = [];
    for (let i = 0; i < 4; i++) {
      writers.push(
        new ProgressWriter(messages, {
          teamId: 't',
          messageId: `s${i}`,
          persistIntervalMs: 40,
          persistChars: 1_000_000,
          leaseMs: 60_000,
          onWrite: () => undefined,
        }),
      );
      await sleep(8); // replies start at different times
    }
    await sleep(40); // every writer is due
    writers.forEach((w, i) => w.update(`reply ${i}`));
    await sleep(60);
    expect(db.statements).toHaveLength(1);
    expect(db.rows(0).map((r) => r[0])).toEqual(['s0', 's1', 's2', 's3']);
    await Promise.all(writers.map((w) => w.stop()));
  });

  it('writes the progress of several replies that are due in one statement, each row scoped by its team', async () => {
    const { db, writers, writes } = setup(5);
    writers.forEach((w, i) => w.update(`reply ${i}`));
    await sleep(60); // one shared tick
    expect(db.statements.length).toBeGreaterThanOrEqual(1);
    expect(db.statements[0].sql).toMatch(/m\.id = v\.id AND m\.team_id = v\.team_id AND m\.status = 'streaming'/);
    expect(db.rows(0)).toEqual(writers.map((_, i) => [`m${i}`, `team-${i % 2}`, 'append', `reply ${i}`, 60_000]));
    expect(writes).toEqual([1, 1, 1, 1, 1]);
    // Only what is new is appended next time, again for all of them together.
    writers.forEach((w, i) => w.update(`reply ${i} and more`));
    await sleep(60);
    expect(db.statements).toHaveLength(2);
    expect(db.rows(1).map((r) => r[3])).toEqual(writers.map(() => ' and more'));
    expect(await Promise.all(writers.map((w) => w.stop()))).toEqual(
      writers.map((_, i) => `reply ${i} and more`.length),
    );
  });

  it('a failed batch fails each of its replies: stop reports nothing surely stored, and the next write rewrites the whole content', async () => {
    const { db, writers, writes } = setup(3);
    writers.forEach((w, i) => w.update(`first ${i}`));
    db.fail = true;
    await sleep(31); // the first tick (30 ms)
    expect(db.statements).toHaveLength(1);
    expect(writes).toEqual([0, 0, 0]);
    db.fail = false;
    writers.forEach((w, i) => w.update(`first ${i}, second`));
    await sleep(30); // the next tick
    expect(db.statements).toHaveLength(2);
    expect(db.rows(1)).toEqual(writers.map((_, i) => [`m${i}`, `team-${i % 2}`, 'full', `first ${i}, second`, 60_000]));
    expect(await Promise.all(writers.map((w) => w.stop()))).toEqual(writers.map((_, i) => `first ${i}, second`.length));
  });

  it('stop after a failed write returns 0, so the final write stores the whole content', async () => {
    const { db, writers } = setup(2);
    writers.forEach((w) => w.update('lost'));
    db.fail = true;
    await sleep(60);
    expect(await Promise.all(writers.map((w) => w.stop()))).toEqual([0, 0]);
  });

  it('a lease renewal never shares a statement with a progress write of the same message', async () => {
    const { db, messages, writers } = setup(1);
    writers[0].update('text');
    await sleep(40);
    const before = db.statements.length;
    writers[0].update('text and more');
    await sleep(40 - 10);
    await Promise.all([messages.renewLease('team-0', 'm0', 60_000), messages.renewLease('team-1', 'm9', 60_000)]);
    await writers[0].stop();
    for (const s of db.statements.slice(before)) {
      const ids = Array.from({ length: s.params.length / 5 }, (_, k) => s.params[k * 5]);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });
});

describe('MessageRepository.finish batched', () => {
  it('writes the final states of replies finishing together in one statement and tells each caller whether its row was written', async () => {
    const db = new Db();
    db.query = (sql: string, params: unknown[]) => {
      db.statements.push({ sql, params });
      return Promise.resolve([{ id: 'a' }, { id: 'c' }]);
    };
    const messages = new MessageRepository(db as unknown as Repository<Message>);
    const results = await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        messages.finish('t1', id, { status: 'complete', content: `x${id}`, persistedLength: 1 }),
      ),
    );
    expect(db.statements).toHaveLength(1);
    expect(db.statements[0].sql).toMatch(/m\.id = v\.id AND m\.team_id = v\.team_id AND m\.status = 'streaming'/);
    expect(results).toEqual([true, false, true]);
    // Rows: id, team, status, append, the part not yet stored, …
    expect(db.statements[0].params.slice(0, 5)).toEqual(['a', 't1', 'complete', true, 'a']);
  });

  it("the sweeper's final write (only if the lease expired) is a statement of its own", async () => {
    const db = new Db();
    const messages = new MessageRepository(db as unknown as Repository<Message>);
    await messages.finish('t1', 'a', { status: 'error', content: 'x' }, true);
    expect(db.statements).toHaveLength(1);
    expect(db.statements[0].sql).toMatch(/lease_expires_at < now\(\)/);
  });
});
