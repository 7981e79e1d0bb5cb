import { registerTeam } from 'test/factories/auth.factory';
import { withTestApp } from 'test/utils/test-app';

/**
 * Regression: the former embedded database (PGlite behind a socket shim) interleaved the extended-protocol
 * messages of concurrent pool connections, so simultaneous requests ran with each other's parameters (500s,
 * wrong 404/409s). Kept: the pool now uses its full size on every database.
 */
describe('Database under concurrent requests', () => {
  const t = withTestApp({ env: { CHAT_MESSAGES_PER_MINUTE: '100000', CHAT_MAX_CONCURRENT_GENERATIONS: '1000' } });

  it('serves concurrent sends in separate chats without cross-talk', async () => {
    const admin = await registerTeam(t);
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'm', provider: 'mock', model: 'mock-1' })
      .expect(201);
    const chats: string[] = [];
    for (let i = 0; i < 12; i++) {
      const c = await t
        .http()
        .post('/api/chats')
        .set(admin.bearer)
        .send({ agentId: agent.body.id, title: `c${i}` })
        .expect(201);
      chats.push(c.body.id);
    }
    const sent = await Promise.all(
      chats.map((id) =>
        t
          .http()
          .post(`/api/chats/${id}/messages`)
          .set(admin.bearer)
          .set('Accept', 'application/json')
          .send({ content: `hello ${id}` }),
      ),
    );
    expect(sent.map((r) => r.status)).toEqual(chats.map(() => 202));
    sent.forEach((r, i) => {
      expect(r.body.userMessage.chatId).toBe(chats[i]);
      expect(r.body.userMessage.content).toBe(`hello ${chats[i]}`);
    });
  });
});
