import { randomUUID } from 'node:crypto';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { contentOf, readSse } from 'test/e2e/chats-sse';
import { TestApp, withTestApp } from 'test/utils/test-app';

type Msg = { id: string; parentId: string | null; role: string; content: string; status: string };

describe('Chats API', () => {
  let admin: Session;
  let user: Session;
  let outsider: Session;
  let agentId: string;

  const t = withTestApp({ env: { CHAT_MESSAGES_PER_MINUTE: '1000', CHAT_MAX_CONCURRENT_GENERATIONS: '50' } });
  beforeAll(async () => {
    ({ admin, user, outsider } = await teamMatrix(t));
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Helper', provider: 'mock', model: 'mock-1', config: { mockDeltas: 8, mockDelayMs: 1 } })
      .expect(201);
    agentId = agent.body.id;
  });

  const createChat = (s: Session, body: Record<string, unknown> = {}) =>
    t
      .http()
      .post('/api/chats')
      .set(s.bearer)
      .send({ agentId, ...body });
  const sendJson = (s: Session, chatId: string, body: Record<string, unknown>) =>
    t.http().post(`/api/chats/${chatId}/messages`).set(s.bearer).set('Accept', 'application/json').send(body);
  async function finished(s: Session, chatId: string, messageId: string): Promise<Msg> {
    for (let i = 0; i < 400; i++) {
      const tree = await t.http().get(`/api/chats/${chatId}/tree`).set(s.bearer).expect(200);
      const m = tree.body.items.find((x: Msg) => x.id === messageId);
      if (m?.status !== 'streaming') return m;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('not finished');
  }

  describe('CRUD', () => {
    it('creates a chat with metadata and reads it back with an empty branch', async () => {
      const c = await createChat(user, { title: 'Plans', metadata: { tags: ['work'], priority: 'high' } }).expect(201);
      expect(c.body).toEqual({
        id: expect.any(String),
        agentId,
        title: 'Plans',
        metadata: { tags: ['work'], priority: 'high' },
        isArchived: false,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const got = await t.http().get(`/api/chats/${c.body.id}`).set(user.bearer).expect(200);
      expect(got.body).toEqual({ ...c.body, updatedAt: expect.any(String), messages: [] });
    });

    it('refuses an agent of another team with 404', async () => {
      const other = await t
        .http()
        .post('/api/agents')
        .set(outsider.bearer)
        .send({ name: 'Theirs', provider: 'mock', model: 'mock-1' });
      const agentOfOther = other.status === 201 ? other.body.id : '00000000-0000-4000-8000-000000000000';
      await createChat(user, { agentId: agentOfOther }).expect(404);
    });

    it('validates the body', async () => {
      const res = await t
        .http()
        .post('/api/chats')
        .set(user.bearer)
        .send({ agentId: 'nope', title: '', extra: 1 })
        .expect(400);
      expect(res.body.error).toBe('VALIDATION_FAILED');
      const meta = await createChat(user, { metadata: { tags: [1], priority: 2 } }).expect(400);
      expect(meta.body.details.fieldErrors.map((f: { field: string }) => f.field)).toEqual([
        'metadata.tags',
        'metadata.priority',
      ]);
    });

    it('lists newest first with cursor pagination, archive and title filters', async () => {
      // A fresh team, so the list holds only what this test creates.
      const { user: solo, admin: soloAdmin } = await teamMatrix(t);
      const ag = await t
        .http()
        .post('/api/agents')
        .set(soloAdmin.bearer)
        .send({ name: 'x', provider: 'mock', model: 'mock-1' })
        .expect(201);
      const made: string[] = [];
      for (let i = 0; i < 5; i++)
        made.push(
          (
            await t
              .http()
              .post('/api/chats')
              .set(solo.bearer)
              .send({ agentId: ag.body.id, title: i % 2 ? `Budget ${i}` : `Trip ${i}` })
              .expect(201)
          ).body.id,
        );
      await t.http().patch(`/api/chats/${made[0]}`).set(solo.bearer).send({ isArchived: true }).expect(200);

      const p1 = await t.http().get('/api/chats?limit=2').set(solo.bearer).expect(200);
      expect(p1.body.items.map((c: { id: string }) => c.id)).toEqual([made[4], made[3]]);
      const p2 = await t.http().get(`/api/chats?limit=2&cursor=${p1.body.nextCursor}`).set(solo.bearer).expect(200);
      expect(p2.body.items.map((c: { id: string }) => c.id)).toEqual([made[2], made[1]]);
      const p3 = await t.http().get(`/api/chats?limit=2&cursor=${p2.body.nextCursor}`).set(solo.bearer).expect(200);
      expect(p3.body).toEqual({ items: [expect.objectContaining({ id: made[0] })], nextCursor: null });

      const active = await t.http().get('/api/chats?archived=false').set(solo.bearer).expect(200);
      expect(active.body.items).toHaveLength(4);
      const archived = await t.http().get('/api/chats?archived=true').set(solo.bearer).expect(200);
      expect(archived.body.items.map((c: { id: string }) => c.id)).toEqual([made[0]]);
      const budget = await t.http().get('/api/chats?q=budg').set(solo.bearer).expect(200);
      expect(budget.body.items.map((c: { title: string }) => c.title).sort()).toEqual(['Budget 1', 'Budget 3']);
      expect((await t.http().get('/api/chats?cursor=garbage').set(solo.bearer).expect(400)).body.error).toBe(
        'INVALID_CURSOR',
      );
      await t.http().get('/api/chats?limit=101').set(solo.bearer).expect(400);
    });

    it('updates with PUT and PATCH and deletes', async () => {
      const c = await createChat(user, { title: 'Old' }).expect(201);
      const p = await t
        .http()
        .patch(`/api/chats/${c.body.id}`)
        .set(user.bearer)
        .send({ title: 'New', metadata: { tags: ['x'] } })
        .expect(200);
      expect(p.body).toEqual(expect.objectContaining({ title: 'New', metadata: { tags: ['x'] } }));
      const u = await t
        .http()
        .put(`/api/chats/${c.body.id}`)
        .set(user.bearer)
        .send({ title: 'Newer', isArchived: true })
        .expect(200);
      expect(u.body).toEqual(expect.objectContaining({ title: 'Newer', isArchived: true }));
      await t.http().delete(`/api/chats/${c.body.id}`).set(user.bearer).expect(204);
      await t.http().get(`/api/chats/${c.body.id}`).set(user.bearer).expect(404);
    });
  });

  describe('messages', () => {
    it('answers 202 with both messages and a stream URL for Accept: application/json, and keeps generating', async () => {
      const c = await createChat(user).expect(201);
      const res = await sendJson(user, c.body.id, { content: 'Explain budgets' }).expect(202);
      expect(res.body.userMessage).toEqual(
        expect.objectContaining({
          role: 'user',
          content: 'Explain budgets',
          status: 'complete',
          parentId: null,
          chatId: c.body.id,
        }),
      );
      expect(res.body.assistantMessage).toEqual(
        expect.objectContaining({ role: 'assistant', status: 'streaming', parentId: res.body.userMessage.id }),
      );
      expect(res.body.streamUrl).toBe(`/api/chats/${c.body.id}/messages/${res.body.assistantMessage.id}/stream`);
      const done = await finished(user, c.body.id, res.body.assistantMessage.id);
      expect(done.status).toBe('complete');
      expect(done.content.length).toBeGreaterThan(0);
      const stream = await readSse(`${t.url}${res.body.streamUrl}`, { headers: user.bearer });
      expect(contentOf(stream.events)).toBe(done.content);
      const chat = await t.http().get(`/api/chats/${c.body.id}`).set(user.bearer).expect(200);
      expect(chat.body.messages.map((m: Msg) => m.role)).toEqual(['user', 'assistant']);
      expect(chat.body.messages[1]).toEqual(
        expect.objectContaining({
          model: 'mock-1',
          usage: { promptTokens: expect.any(Number), completionTokens: expect.any(Number) },
        }),
      );
    });

    it('does not create a second message for a repeated clientMessageId', async () => {
      const c = await createChat(user).expect(201);
      const a = await sendJson(user, c.body.id, { content: 'Once', clientMessageId: 'client-1' }).expect(202);
      const b = await sendJson(user, c.body.id, { content: 'Once', clientMessageId: 'client-1' }).expect(202);
      expect(b.body.userMessage.id).toBe(a.body.userMessage.id);
      expect(b.body.assistantMessage.id).toBe(a.body.assistantMessage.id);
      const sse = await readSse(`${t.url}/api/chats/${c.body.id}/messages`, {
        method: 'POST',
        headers: user.bearer,
        body: { content: 'Once', clientMessageId: 'client-1' },
      });
      expect((sse.events[0].data.data as { assistantMessageId: string }).assistantMessageId).toBe(
        a.body.assistantMessage.id,
      );
      const [x, y] = await Promise.all([
        sendJson(user, c.body.id, { content: 'Race', clientMessageId: 'client-2' }),
        sendJson(user, c.body.id, { content: 'Race', clientMessageId: 'client-2' }),
      ]);
      expect(x.status).toBe(202);
      expect(y.status).toBe(202);
      expect(x.body.userMessage.id).toBe(y.body.userMessage.id);
      await finished(user, c.body.id, a.body.assistantMessage.id);
      await finished(user, c.body.id, x.body.assistantMessage.id);
      const tree = await t.http().get(`/api/chats/${c.body.id}/tree`).set(user.bearer).expect(200);
      expect(tree.body.items).toHaveLength(4);
    });

    it('regenerates a sibling, branches on an earlier parentId and lists the whole tree', async () => {
      const c = await createChat(user).expect(201);
      const first = await sendJson(user, c.body.id, { content: 'First question about rivers' }).expect(202);
      await finished(user, c.body.id, first.body.assistantMessage.id);
      const second = await sendJson(user, c.body.id, { content: 'Second question about lakes' }).expect(202);
      expect(second.body.userMessage.parentId).toBe(first.body.assistantMessage.id);
      await finished(user, c.body.id, second.body.assistantMessage.id);

      const regen = await t
        .http()
        .post(`/api/chats/${c.body.id}/messages/${second.body.assistantMessage.id}/regenerate`)
        .set(user.bearer)
        .set('Accept', 'application/json')
        .expect(202);
      expect(regen.body.userMessage).toBeNull();
      expect(regen.body.assistantMessage.parentId).toBe(second.body.userMessage.id);
      await finished(user, c.body.id, regen.body.assistantMessage.id);

      // Edit the second question: a new user message under the first answer.
      const edit = await sendJson(user, c.body.id, {
        content: 'Edited question about seas',
        parentId: first.body.assistantMessage.id,
      }).expect(202);
      expect(edit.body.userMessage.parentId).toBe(first.body.assistantMessage.id);
      await finished(user, c.body.id, edit.body.assistantMessage.id);

      const chat = await t.http().get(`/api/chats/${c.body.id}`).set(user.bearer).expect(200);
      expect(chat.body.messages.map((m: Msg) => m.id)).toEqual([
        first.body.userMessage.id,
        first.body.assistantMessage.id,
        edit.body.userMessage.id,
        edit.body.assistantMessage.id,
      ]);
      const older = await t
        .http()
        .get(`/api/chats/${c.body.id}?leafId=${second.body.userMessage.id}`)
        .set(user.bearer)
        .expect(200);
      expect(older.body.messages.map((m: Msg) => m.id)).toEqual([
        first.body.userMessage.id,
        first.body.assistantMessage.id,
        second.body.userMessage.id,
        regen.body.assistantMessage.id,
      ]);

      const tree = await t.http().get(`/api/chats/${c.body.id}/tree`).set(user.bearer).expect(200);
      expect(tree.body.currentLeafId).toBe(edit.body.assistantMessage.id);
      const items: Msg[] = tree.body.items;
      expect(items).toHaveLength(7);
      const pos = new Map(items.map((m, i) => [m.id, i]));
      for (const m of items) if (m.parentId) expect(pos.get(m.parentId)!).toBeLessThan(pos.get(m.id)!);
      expect(items.filter((m) => m.parentId === second.body.userMessage.id)).toHaveLength(2);

      // parentId null edits the very first message: a new root becomes the current branch.
      const root = await sendJson(user, c.body.id, { content: 'A different first question', parentId: null }).expect(
        202,
      );
      expect(root.body.userMessage.parentId).toBeNull();
      await finished(user, c.body.id, root.body.assistantMessage.id);
      const rooted = await t.http().get(`/api/chats/${c.body.id}`).set(user.bearer).expect(200);
      expect(rooted.body.messages.map((m: Msg) => m.id)).toEqual([
        root.body.userMessage.id,
        root.body.assistantMessage.id,
      ]);

      await sendJson(user, c.body.id, { content: 'x', parentId: '00000000-0000-4000-8000-000000000000' }).expect(400);
      await t
        .http()
        .post(`/api/chats/${c.body.id}/messages/${first.body.userMessage.id}/regenerate`)
        .set(user.bearer)
        .set('Accept', 'application/json')
        .expect(400);
    });

    it('streams a regenerate as the response by default', async () => {
      const c = await createChat(user).expect(201);
      const first = await sendJson(user, c.body.id, { content: 'stream the regenerate' }).expect(202);
      await finished(user, c.body.id, first.body.assistantMessage.id);
      const r = await readSse(`${t.url}/api/chats/${c.body.id}/messages/${first.body.assistantMessage.id}/regenerate`, {
        method: 'POST',
        headers: user.bearer,
      });
      expect(r.status).toBe(200);
      expect(r.events[r.events.length - 1].event).toBe('done');
      expect(contentOf(r.events).length).toBeGreaterThan(0);
    });
  });

  describe('search and export', () => {
    it("finds only the caller's messages and titles, ranked, with highlighted snippets", async () => {
      const c = await createChat(user, { title: 'Volcanoes of Iceland' }).expect(201);
      const m = await sendJson(user, c.body.id, { content: 'Which volcanoes erupted recently in Iceland?' }).expect(
        202,
      );
      await finished(user, c.body.id, m.body.assistantMessage.id);
      const otherChat = await createChat(admin, { title: 'Volcanoes too' }).expect(201);
      await sendJson(admin, otherChat.body.id, { content: 'volcanoes volcanoes volcanoes' }).expect(202);

      const res = await t.http().get('/api/chats/search?q=volcano').set(user.bearer).expect(200);
      expect(res.body.items.length).toBeGreaterThanOrEqual(2);
      for (const hit of res.body.items) {
        expect(hit.chatId).toBe(c.body.id);
        expect(hit.snippet).toContain('<mark>');
        expect(typeof hit.rank).toBe('number');
      }
      const ranks = res.body.items.map((h: { rank: number }) => h.rank);
      expect([...ranks].sort((a, b) => b - a)).toEqual(ranks);
      expect(res.body.items.some((h: { messageId: string }) => h.messageId === m.body.userMessage.id)).toBe(true);
      const none = await t.http().get('/api/chats/search?q=volcano').set(outsider.bearer).expect(200);
      expect(none.body.items).toEqual([]);
      await t.http().get('/api/chats/search').set(user.bearer).expect(400);
    });

    it('exports Markdown and JSON as downloads with a file name', async () => {
      const c = await createChat(user, { title: 'Export me!' }).expect(201);
      const m = await sendJson(user, c.body.id, { content: 'Export this conversation' }).expect(202);
      const done = await finished(user, c.body.id, m.body.assistantMessage.id);
      const md = await t.http().get(`/api/chats/${c.body.id}/export`).set(user.bearer).expect(200);
      expect(md.headers['content-type']).toContain('text/markdown');
      expect(md.headers['content-disposition']).toMatch(/^attachment; filename="chat-export-me-[0-9a-f]{8}\.md"$/);
      expect(md.text).toContain('# Export me!');
      expect(md.text).toContain('Export this conversation');
      expect(md.text).toContain(done.content.trim());
      const json = await t.http().get(`/api/chats/${c.body.id}/export?format=json`).set(user.bearer).expect(200);
      expect(json.headers['content-disposition']).toMatch(/\.json"$/);
      const parsed = JSON.parse(json.text);
      expect(parsed.messages.map((x: Msg) => x.content)).toEqual(['Export this conversation', done.content]);
      await t.http().get(`/api/chats/${c.body.id}/export?format=pdf`).set(user.bearer).expect(400);
    });
  });

  describe("isolation: another user's or another team's chat is a 404 on every route", () => {
    let chatId: string;
    let messageId: string;
    beforeAll(async () => {
      const c = await createChat(user).expect(201);
      chatId = c.body.id;
      const m = await sendJson(user, chatId, { content: 'private' }).expect(202);
      messageId = m.body.assistantMessage.id;
      await finished(user, chatId, messageId);
    });

    const routes = (): [string, string, Record<string, unknown>?][] => [
      ['get', `/api/chats/${chatId}`],
      ['get', `/api/chats/${chatId}/tree`],
      ['put', `/api/chats/${chatId}`, { title: 'x' }],
      ['patch', `/api/chats/${chatId}`, { title: 'x' }],
      ['delete', `/api/chats/${chatId}`],
      ['get', `/api/chats/${chatId}/export`],
      ['post', `/api/chats/${chatId}/messages`, { content: 'hi' }],
      ['get', `/api/chats/${chatId}/messages/${messageId}/stream`],
      ['post', `/api/chats/${chatId}/messages/${messageId}/cancel`],
      ['post', `/api/chats/${chatId}/messages/${messageId}/regenerate`],
    ];

    it.each([['admin of the same team'], ['outsider from another team']])('answers 404 to the %s', async (who) => {
      const s = who.startsWith('admin') ? admin : outsider;
      for (const [method, path, body] of routes()) {
        const req = (
          t.http() as unknown as Record<string, (p: string) => ReturnType<ReturnType<TestApp['http']>['get']>>
        )
          [method](path)
          .set(s.bearer)
          .set('Accept', 'application/json');
        const res = body ? await req.send(body) : await req;
        expect([method, path, res.status, res.body.error]).toEqual([method, path, 404, 'NOT_FOUND']);
      }
      const list = await t.http().get('/api/chats').set(s.bearer).expect(200);
      expect(list.body.items.map((c: { id: string }) => c.id)).not.toContain(chatId);
      await t.http().get(`/api/chats/${chatId}`).set(user.bearer).expect(200);
    });

    it('answers 404 to a malformed id and to a message of another chat', async () => {
      await t.http().get('/api/chats/not-a-uuid').set(user.bearer).expect(404);
      const other = await createChat(user).expect(201);
      await t.http().get(`/api/chats/${other.body.id}/messages/${messageId}/stream`).set(user.bearer).expect(404);
      await t.http().post(`/api/chats/${other.body.id}/messages/${messageId}/cancel`).set(user.bearer).expect(404);
    });

    it("tells a missing message (404) from a user message (400) in the caller's own chat, on stream and cancel", async () => {
      const tree = await t.http().get(`/api/chats/${chatId}/tree`).set(user.bearer).expect(200);
      const userMessage = tree.body.items.find((x: Msg) => x.role === 'user') as Msg | undefined;
      expect(userMessage).toBeDefined();
      for (const path of [
        `/api/chats/${chatId}/messages/${userMessage!.id}/stream`,
        `/api/chats/${chatId}/messages/${userMessage!.id}/cancel`,
      ]) {
        const req = path.endsWith('/stream') ? t.http().get(path) : t.http().post(path);
        const res = await req.set(user.bearer).set('Accept', 'application/json');
        expect([path, res.status, res.body.error]).toEqual([path, 400, 'VALIDATION_FAILED']);
      }
      const missing = randomUUID();
      const res = await t
        .http()
        .get(`/api/chats/${chatId}/messages/${missing}/stream`)
        .set(user.bearer)
        .set('Accept', 'application/json');
      expect([res.status, res.body.error, res.body.message]).toEqual([
        404,
        'NOT_FOUND',
        expect.stringMatching(/^Message/),
      ]);
    });

    it('requires authentication', async () => {
      await t.http().get('/api/chats').expect(401);
      await t.http().get(`/api/chats/${chatId}/messages/${messageId}/stream`).expect(401);
    });
  });
});
