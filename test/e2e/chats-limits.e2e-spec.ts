import { Session, teamMatrix } from 'test/factories/auth.factory';
import { withTestApp } from 'test/utils/test-app';

describe('Chat limits: message rate, concurrent generations, monthly token budget', () => {
  const t = withTestApp({
    env: { CHAT_MESSAGES_PER_MINUTE: '3', CHAT_MAX_CONCURRENT_GENERATIONS: '1', TEAM_MONTHLY_TOKEN_BUDGET: '60' },
  });

  async function teamWithChat(
    config: Record<string, unknown>,
  ): Promise<{ admin: Session; user: Session; chatId: string }> {
    const { admin, user } = await teamMatrix(t);
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Limited', provider: 'mock', model: 'mock-1', config })
      .expect(201);
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId: agent.body.id }).expect(201);
    return { admin, user, chatId: chat.body.id };
  }
  const send = (s: Session, chatId: string, content: string) =>
    t.http().post(`/api/chats/${chatId}/messages`).set(s.bearer).set('Accept', 'application/json').send({ content });
  async function settle(s: Session, chatId: string): Promise<void> {
    for (let i = 0; i < 400; i++) {
      const tree = await t.http().get(`/api/chats/${chatId}/tree`).set(s.bearer).expect(200);
      if (!tree.body.items.some((m: { status: string }) => m.status === 'streaming')) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('generations did not finish');
  }

  it('answers 429 RATE_LIMITED with Retry-After past the per-user message rate', async () => {
    const { user, chatId } = await teamWithChat({ mockContent: 'ok', mockDelayMs: 0 });
    for (let i = 0; i < 3; i++) {
      await send(user, chatId, `hi ${i}`).expect(202);
      await settle(user, chatId);
    }
    const res = await send(user, chatId, 'one too many').expect(429);
    expect(res.body.error).toBe('RATE_LIMITED');
    const retry = Number(res.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    // Idempotent retries of an accepted message are not counted.
    const tree = await t.http().get(`/api/chats/${chatId}/tree`).set(user.bearer).expect(200);
    expect(tree.body.items).toHaveLength(6);
  });

  it('counts only sends that go ahead: a 404 or 400 is not charged to the rate, and wins over a 429', async () => {
    // The slot is reserved while the chat is read (MessagesService.reserveEarly): a send refused for another
    // reason must give its reservation back and answer as if the limit had been checked last.
    const { user, chatId } = await teamWithChat({ mockContent: 'ok', mockDelayMs: 0 });
    const missingChat = '00000000-0000-4000-8000-000000000000';
    for (let i = 0; i < 2; i++) {
      await send(user, chatId, `hi ${i}`).expect(202);
      await settle(user, chatId);
    }
    for (let i = 0; i < 4; i++) await send(user, missingChat, `nowhere ${i}`).expect(404);
    await t
      .http()
      .post(`/api/chats/${chatId}/messages`)
      .set(user.bearer)
      .set('Accept', 'application/json')
      .send({ content: 'under a stranger', parentId: missingChat })
      .expect(400);
    await send(user, chatId, 'the third fits').expect(202);
    await settle(user, chatId);
    await send(user, missingChat, 'still a 404 at the limit').expect(404);
    expect((await send(user, chatId, 'the fourth does not').expect(429)).body.error).toBe('RATE_LIMITED');
  });

  it('caps concurrent generations per user', async () => {
    const { user, chatId } = await teamWithChat({ mockDeltas: 200, mockDelayMs: 50 });
    const first = await send(user, chatId, 'long one').expect(202);
    const second = await send(user, chatId, 'in parallel').expect(429);
    expect(second.body.error).toBe('RATE_LIMITED');
    expect(second.headers['retry-after']).toBeDefined();
    await t
      .http()
      .post(`/api/chats/${chatId}/messages/${first.body.assistantMessage.id}/cancel`)
      .set(user.bearer)
      .expect(200);
    await send(user, chatId, 'now it fits').expect(202);
  });

  it('refuses generation with 429 BUDGET_EXCEEDED once the team spent its monthly tokens, until the period ends', async () => {
    const { admin, user, chatId } = await teamWithChat({ mockContent: 'word '.repeat(100), mockDelayMs: 0 });
    const before = await t.http().get('/api/teams/current/usage').set(admin.bearer).expect(200);
    expect(before.body).toEqual(
      expect.objectContaining({
        promptTokens: 0,
        completionTokens: 0,
        totalTokens: 0,
        budget: 60,
        remaining: 60,
        period: expect.stringMatching(/^\d{4}-\d\d$/),
      }),
    );
    await send(user, chatId, 'spend it all').expect(202);
    await settle(user, chatId);
    const after = await t.http().get('/api/teams/current/usage').set(user.bearer).expect(200);
    expect(after.body.totalTokens).toBeGreaterThanOrEqual(60);
    expect(after.body.remaining).toBe(0);
    const res = await send(user, chatId, 'more please').expect(429);
    expect(res.body.error).toBe('BUDGET_EXCEEDED');
    const retry = Number(res.headers['retry-after']);
    const expected = (Date.parse(after.body.periodEnd) - Date.now()) / 1000;
    expect(Math.abs(retry - expected)).toBeLessThan(60);
    // Another team is not affected.
    const other = await teamWithChat({ mockContent: 'fine', mockDelayMs: 0 });
    await send(other.user, other.chatId, 'still allowed').expect(202);
  });
});
