import { randomUUID } from 'node:crypto';
import { StreamCursor } from 'src/streaming/stream-cursor';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { contentOf, readSse as readChatSse } from 'test/e2e/chats-sse';
import { readSse as readResearchSse, waitFor } from 'test/e2e/research-support';
import { createTestApp, TestApp } from 'test/utils/test-app';

/**
 * Chats and research share one resumable stream: the same cursor (header, else ?lastEventId=) and the same
 * "the client already has the terminal event" rule, answered with 204.
 */
describe('One resume protocol for chats and research', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session;
  let outsider: Session;
  /** Per feature: the stream URL and every id-carrying event of the whole stream. */
  const streams: Record<'chat' | 'research', { url: string; ids: string[] }> = {
    chat: { url: '', ids: [] },
    research: { url: '', ids: [] },
  };

  beforeAll(async () => {
    t = await createTestApp({ env: { MOCK_LLM_DELAY_MS: '2', MOCK_LLM_DELTAS: '6' } });
    ({ admin, user, outsider } = await teamMatrix(t));

    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Rule', provider: 'mock', model: 'mock-1', config: { mockDeltas: 8, mockDelayMs: 1 } })
      .expect(201);
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId: agent.body.id }).expect(201);
    const sent = await t
      .http()
      .post(`/api/chats/${chat.body.id}/messages`)
      .set(user.bearer)
      .set('Accept', 'application/json')
      .send({ content: 'one rule' })
      .expect(202);
    streams.chat.url = `${t.url}${sent.body.streamUrl}`;
    const full = await readChatSse(streams.chat.url, { headers: user.bearer });
    expect(full.events[full.events.length - 1].event).toBe('done');
    streams.chat.ids = full.events.map((e) => e.id as string);
    await waitFor(async () => {
      const tree = await t.http().get(`/api/chats/${chat.body.id}/tree`).set(user.bearer).expect(200);
      return (
        tree.body.items.find(
          (m: { id: string; status: string }) => m.id === sent.body.assistantMessage.id && m.status !== 'streaming',
        ) ?? null
      );
    });

    const sessionId = randomUUID();
    await t
      .http()
      .post('/api/research/sessions')
      .set(user.bearer)
      .send({ id: sessionId, query: 'How do heat pumps work in cold climates?' })
      .expect(201);
    streams.research.url = `${t.url}/api/research/sessions/${sessionId}/events`;
    const run = await readResearchSse(streams.research.url, { headers: user.bearer });
    expect(run.events[run.events.length - 1].event).toBe('research_complete');
    streams.research.ids = run.events.filter((e) => e.id !== undefined).map((e) => e.id as string);
    await waitFor(async () => {
      const res = await t.http().get(`/api/research/sessions/${sessionId}`).set(user.bearer);
      return res.body.status === 'completed' ? res.body : null;
    });
  });
  afterAll(() => t?.close());

  const get = (url: string, s: Session, how: { header?: string; query?: string }) => {
    const path =
      url.slice(t.url.length) + (how.query !== undefined ? `?lastEventId=${encodeURIComponent(how.query)}` : '');
    const req = t.http().get(path).set(s.bearer).set('Accept', 'text/event-stream');
    return how.header !== undefined ? req.set('Last-Event-ID', how.header) : req;
  };

  for (const feature of ['chat', 'research'] as const) {
    describe(feature, () => {
      const final = () => streams[feature].ids[streams[feature].ids.length - 1];
      const beyond = () => {
        const c = StreamCursor.parse(final()) as StreamCursor;
        return StreamCursor.format({ offset: c.offset + 1, seq: 1 });
      };

      it('answers 204 for the terminal event id, in the header or in ?lastEventId=', async () => {
        await get(streams[feature].url, user, { header: final() }).expect(204);
        const viaQuery = await get(streams[feature].url, user, { query: final() }).expect(204);
        expect(viaQuery.text).toBe('');
      });

      it('answers 204 for an id after the terminal event (a later offset)', async () => {
        await get(streams[feature].url, user, { header: beyond() }).expect(204);
        await get(streams[feature].url, user, { query: beyond() }).expect(204);
      });

      it('resumes exactly after an earlier id given as ?lastEventId=, ending with the terminal event', async () => {
        const ids = streams[feature].ids;
        const cut = Math.floor(ids.length / 2);
        const read = feature === 'chat' ? readChatSse : readResearchSse;
        const rest = await read(`${streams[feature].url}?lastEventId=${ids[cut - 1]}`, { headers: user.bearer });
        expect(rest.status).toBe(200);
        const restIds = (rest.events as { id?: string }[]).filter((e) => e.id !== undefined).map((e) => e.id);
        expect(restIds[restIds.length - 1]).toBe(final());
        if (feature === 'research') expect(restIds).toEqual(ids.slice(cut));
        else
          expect(
            StreamCursor.compare(
              StreamCursor.parse(restIds[0]) as StreamCursor,
              StreamCursor.parse(ids[cut - 1]) as StreamCursor,
            ),
          ).toBeGreaterThan(0);
      });

      it('prefers the header over ?lastEventId=', async () => {
        await get(streams[feature].url, user, { header: final(), query: streams[feature].ids[0] }).expect(204);
      });

      it("answers 404 for another team's stream, whatever the cursor", async () => {
        await get(streams[feature].url, outsider, { header: final() }).expect(404);
      });
    });
  }

  it('resumed chat content joins up exactly with what the client had', async () => {
    const full = await readChatSse(streams.chat.url, { headers: user.bearer });
    const cut = 2;
    const rest = await readChatSse(`${streams.chat.url}?lastEventId=${full.events[cut - 1].id}`, {
      headers: user.bearer,
    });
    expect(contentOf(full.events.slice(0, cut)) + contentOf(rest.events)).toBe(contentOf(full.events));
  });
});
