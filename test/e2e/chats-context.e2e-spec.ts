import { DataSource } from 'typeorm';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { readSse } from 'test/e2e/chats-sse';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import { createTestApp, TestApp } from 'test/utils/test-app';

type Sent = { role: string; content: string }[];

/**
 * The context of a reply (issue 18): the branch the reply continues, read up from its parent, at most
 * CHAT_CONTEXT_MESSAGES of it (the newest), whatever else the chat holds. What the upstream received is
 * read from the fake server.
 */
describe('the context a send reads and sends', () => {
  const upstream = new FakeOpenAiServer();
  let t: TestApp;
  let admin: Session;
  let user: Session;
  let outsider: Session;
  let agentId: string;

  beforeAll(async () => {
    await upstream.start();
    upstream.setDefault({ deltas: ['ok'] });
    t = await createTestApp({
      env: {
        ALLOW_PRIVATE_UPSTREAMS: 'true',
        LLM_MAX_ATTEMPTS: '1',
        CHAT_CONTEXT_MESSAGES: '4',
        CHAT_MESSAGES_PER_MINUTE: '1000',
      },
    });
    ({ admin, user, outsider } = await teamMatrix(t));
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Ctx', provider: 'openai', model: 'gpt-fake', baseUrl: `${upstream.baseUrl}/v1`, apiKey: 'k' })
      .expect(201);
    agentId = agent.body.id;
  });
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 200));
    await t?.close();
    await upstream.stop();
  });

  const send = async (s: Session, chatId: string, body: Record<string, unknown>) => {
    const r = await readSse(`${t.url}/api/chats/${chatId}/messages`, { method: 'POST', headers: s.bearer, body });
    const first = r.events[0].data.data as { assistantMessageId: string; userMessageId: string };
    return { ...first, sent: (upstream.lastRequest!.body as { messages: Sent }).messages };
  };

  it('sends the newest CHAT_CONTEXT_MESSAGES of the current branch, oldest first, then the new message', async () => {
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId }).expect(201);
    const c = chat.body.id as string;
    await send(user, c, { content: 'q1' });
    const r2 = await send(user, c, { content: 'q2' });
    expect(r2.sent).toEqual([
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'q2' },
    ]);
    await send(user, c, { content: 'q3' });
    const r4 = await send(user, c, { content: 'q4' });
    // Six messages stored before q4; only the newest four are sent.
    expect(r4.sent).toEqual([
      { role: 'user', content: 'q2' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'q3' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'q4' },
    ]);
  });

  it('follows the branch of an explicit parentId, not the newest messages of the chat', async () => {
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId }).expect(201);
    const c = chat.body.id as string;
    const a = await send(user, c, { content: 'a' });
    await send(user, c, { content: 'b on a' });
    await send(user, c, { content: 'c on b' });
    // Back to the first reply: a new branch sees only `a` and its reply.
    const branch = await send(user, c, { content: 'x on a', parentId: a.assistantMessageId });
    expect(branch.sent).toEqual([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'x on a' },
    ]);
    // Absent parentId: the most recent leaf, which is now the new branch.
    const next = await send(user, c, { content: 'after x' });
    expect(next.sent.map((m) => m.content)).toEqual(['a', 'ok', 'x on a', 'ok', 'after x']);
    // null: a new root without history.
    const root = await send(user, c, { content: 'fresh', parentId: null });
    expect(root.sent).toEqual([{ role: 'user', content: 'fresh' }]);
  });

  it('finds the current leaf when the newest message has a child (a child created with an earlier clock)', async () => {
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId }).expect(201);
    const c = chat.body.id as string;
    const first = await send(user, c, { content: 'first' });
    const second = await send(user, c, { content: 'second' });
    // Another instance's clock behind: the first reply now looks newer than the second exchange.
    await t.app
      .get(DataSource)
      .query(`UPDATE messages SET created_at = now() + interval '1 hour' WHERE id = $1`, [first.assistantMessageId]);
    const next = await send(user, c, { content: 'third' });
    expect(next.sent.map((m) => m.content)).toEqual(['first', 'ok', 'second', 'ok', 'third']);
    const tree = await t.http().get(`/api/chats/${c}/tree`).set(user.bearer).expect(200);
    const third = tree.body.items.find((m: { content: string }) => m.content === 'third');
    expect(third.parentId).toBe(second.assistantMessageId);
  });

  it("a regenerate sends the branch up to the regenerated reply's question", async () => {
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId }).expect(201);
    const c = chat.body.id as string;
    await send(user, c, { content: 'one' });
    const two = await send(user, c, { content: 'two' });
    await readSse(`${t.url}/api/chats/${c}/messages/${two.assistantMessageId}/regenerate`, {
      method: 'POST',
      headers: user.bearer,
      body: {},
    });
    expect((upstream.lastRequest!.body as { messages: Sent }).messages.map((m) => m.content)).toEqual([
      'one',
      'ok',
      'two',
    ]);
  });

  it("refuses a parentId of another chat (400) and another owner's chat (404) without sending anything", async () => {
    const mine = await t.http().post('/api/chats').set(user.bearer).send({ agentId }).expect(201);
    const other = await t.http().post('/api/chats').set(user.bearer).send({ agentId }).expect(201);
    const inOther = await send(user, other.body.id, { content: 'elsewhere' });
    const before = upstream.requests.length;
    const bad = await t
      .http()
      .post(`/api/chats/${mine.body.id}/messages`)
      .set(user.bearer)
      .set('Accept', 'application/json')
      .send({ content: 'x', parentId: inOther.assistantMessageId });
    expect(bad.status).toBe(400);
    const foreign = await t
      .http()
      .post(`/api/chats/${mine.body.id}/messages`)
      .set(outsider.bearer)
      .set('Accept', 'application/json')
      .send({ content: 'x' });
    expect(foreign.status).toBe(404);
    expect(upstream.requests.length).toBe(before);
  });
});
