import { DataSource } from 'typeorm';
import { AgentsService } from 'src/agents/agents.service';
import { ChatsService } from 'src/chats/chats.service';
import { MessageRepository } from 'src/chats/message.repository';
import { UsageRepository } from 'src/chats/usage.repository';
import { AuthUser } from 'src/common/auth-user';
import { createChat, createMockAgent, fakeUser } from 'test/medium/chats/chat-kit';
import { TestApp, withTestApp } from 'test/utils/test-app';

/** The batched statements of MessageRepository and UsageRepository on a real database (issue 18). */
describe('Batched message and usage writes (medium: real database)', () => {
  const t: TestApp = withTestApp();
  let ds: DataSource;
  let messages: MessageRepository;
  let usage: UsageRepository;
  let users: AuthUser[];
  let chatIds: string[];

  beforeAll(async () => {
    ds = t.app.get(DataSource);
    messages = t.app.get(MessageRepository);
    usage = t.app.get(UsageRepository);
    users = [fakeUser(), fakeUser()];
    chatIds = [];
    for (const u of users)
      chatIds.push(await createChat(t.app.get(ChatsService), u, await createMockAgent(t.app.get(AgentsService), u)));
  });

  async function reply(i: number, content: string, status = 'streaming'): Promise<string> {
    const [row] = await ds.query(
      `INSERT INTO messages (chat_id, team_id, role, content, status, lease_owner, lease_expires_at)
       VALUES ($1, $2, 'assistant', $3, $4, 'gen-x', now() + interval '1 second') RETURNING id`,
      [chatIds[i], users[i].teamId, content, status],
    );
    return row.id;
  }
  const row = async (id: string) =>
    (
      await ds.query(
        `SELECT content, status, model, lease_expires_at > now() + interval '30 seconds' AS "leaseLong", updated_at AS "updatedAt" FROM messages WHERE id = $1`,
        [id],
      )
    )[0];

  it('progress writes and renewals of several replies in one turn: each keeps its own semantics and its team scope', async () => {
    const a = await reply(0, 'hello');
    const b = await reply(1, 'old');
    const c = await reply(0, 'kept');
    const done = await reply(0, 'final', 'complete');
    const otherTeam = await reply(1, 'theirs');
    const before = await row(c);
    await Promise.all([
      messages.appendProgress(users[0].teamId, a, ' world', 60_000),
      messages.saveProgress(users[1].teamId, b, 'rewritten', 60_000),
      messages.renewLease(users[0].teamId, c, 60_000),
      messages.appendProgress(users[0].teamId, done, ' never', 60_000),
      // Team 0 names team 1's message: not written.
      messages.appendProgress(users[0].teamId, otherTeam, ' intruder', 60_000),
    ]);
    expect(await row(a)).toMatchObject({ content: 'hello world', leaseLong: true });
    expect(await row(b)).toMatchObject({ content: 'rewritten', leaseLong: true });
    expect(await row(c)).toMatchObject({ content: 'kept', leaseLong: true, updatedAt: before.updatedAt });
    expect(await row(done)).toMatchObject({ content: 'final', leaseLong: false });
    expect(await row(otherTeam)).toMatchObject({ content: 'theirs', leaseLong: false });
  });

  it('final writes of several replies in one turn report per row whether it was written', async () => {
    const a = await reply(0, 'part');
    const b = await reply(1, 'ignored');
    const done = await reply(0, 'final', 'complete');
    const otherTeam = await reply(1, 'theirs');
    const results = await Promise.all([
      messages.finish(users[0].teamId, a, {
        status: 'complete',
        content: 'part and rest',
        persistedLength: 4,
        model: 'm-a',
      }),
      messages.finish(users[1].teamId, b, { status: 'cancelled', content: 'whole' }),
      messages.finish(users[0].teamId, done, { status: 'error', content: 'x', errorCode: 'INTERNAL' }),
      messages.finish(users[0].teamId, otherTeam, { status: 'complete', content: 'intruder' }),
    ]);
    expect(results).toEqual([true, true, false, false]);
    expect(await row(a)).toMatchObject({ content: 'part and rest', status: 'complete', model: 'm-a', leaseLong: null });
    expect(await row(b)).toMatchObject({ content: 'whole', status: 'cancelled' });
    expect(await row(done)).toMatchObject({ content: 'final', status: 'complete' });
    expect(await row(otherTeam)).toMatchObject({ content: 'theirs', status: 'streaming' });
  });

  it("final writes carry their usage charges: added to each reply's team in the same statement, even when the row was not written", async () => {
    const period = '2026-11-01';
    const a = await reply(0, '');
    const b = await reply(0, '');
    const c = await reply(1, '');
    const done = await reply(0, 'final', 'complete');
    const charge = (p: number, q: number) => ({ period, promptTokens: p, completionTokens: q });
    const results = await Promise.all([
      messages.finish(users[0].teamId, a, { status: 'complete', content: 'a', charge: charge(10, 1) }),
      messages.finish(users[0].teamId, b, { status: 'complete', content: 'b', charge: charge(20, 2) }),
      messages.finish(users[1].teamId, c, { status: 'complete', content: 'c', charge: charge(5, 5) }),
      messages.finish(users[0].teamId, done, { status: 'complete', content: 'd', charge: charge(100, 100) }),
    ]);
    expect(results).toEqual([true, true, true, false]);
    expect(await usage.get(users[0].teamId, period)).toEqual({ promptTokens: 130, completionTokens: 103 });
    expect(await usage.get(users[1].teamId, period)).toEqual({ promptTokens: 5, completionTokens: 5 });
  });

  it('a value the table refuses fails only its own final write', async () => {
    const a = await reply(0, '');
    const bad = await reply(0, '');
    const results = await Promise.allSettled([
      messages.finish(users[0].teamId, a, { status: 'complete', content: 'fine' }),
      messages.finish(users[0].teamId, bad, { status: 'complete', content: 'x', model: 'm'.repeat(300) }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(await row(a)).toMatchObject({ content: 'fine', status: 'complete' });
    expect(await row(bad)).toMatchObject({ status: 'streaming' });
  });

  it('charges of one turn are one upsert, summed per team and month', async () => {
    const period = '2026-12-01';
    await Promise.all([
      usage.add(users[0].teamId, period, 10, 1),
      usage.add(users[0].teamId, period, 20, 2),
      usage.add(users[1].teamId, period, 5, 5),
    ]);
    expect(await usage.get(users[0].teamId, period)).toEqual({ promptTokens: 30, completionTokens: 3 });
    expect(await usage.get(users[1].teamId, period)).toEqual({ promptTokens: 5, completionTokens: 5 });
    await usage.add(users[0].teamId, period, 1, 1);
    expect(await usage.get(users[0].teamId, period)).toEqual({ promptTokens: 31, completionTokens: 4 });
  });
});
