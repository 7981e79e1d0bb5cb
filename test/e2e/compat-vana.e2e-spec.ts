import { randomUUID } from 'node:crypto';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { waitFor } from 'test/e2e/research-support';
import { AgentNetworkEvent, openVanaStream, VanaApiClient, VanaChatState, VanaStream } from 'test/e2e/vana-client';
import { createTestApp, TestApp } from 'test/utils/test-app';

const AGENT_STATUSES = new Set(['current', 'waiting', 'completed', 'error']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Vana compatibility surface (/compat/vana), driven by Vana's own client logic", () => {
  let t: TestApp;
  let user: Session;
  let admin: Session;
  let outsider: Session;
  let base: string;
  const streams: VanaStream[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { MOCK_LLM_DELAY_MS: '4', MOCK_LLM_DELTAS: '4', SSE_HEARTBEAT_MS: '500' } });
    ({ admin, user, outsider } = await teamMatrix(t));
    base = `${t.url}/compat/vana`;
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await sleep(200);
    await t?.close();
  });

  const loggedIn = async (s: Session) => {
    const client = new VanaApiClient(base);
    await client.login({ username: s.email, password: s.password, grant_type: 'password' });
    return client;
  };
  /** useResearchSSE(sessionId): `/api/run_sse/${sessionId}` through the reader of useSSE.ts. */
  const open = (client: VanaApiClient, chat: VanaChatState, headers: Record<string, string> = {}) => {
    const s = openVanaStream(
      `${base}/api/run_sse/${chat.sessionId}`,
      client.accessToken,
      (e) => chat.handle(e),
      headers,
    );
    streams.push(s);
    return s;
  };

  it("logs in and refreshes with Vana's shapes; unknown fields are ignored", async () => {
    const client = new VanaApiClient(base);
    const res = await client.login({ username: user.email, password: user.password, grant_type: 'password' });
    expect(res.tokens).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      token_type: 'bearer',
      expires_in: expect.any(Number),
    });
    expect(res.user).toMatchObject({
      email: user.email,
      is_active: true,
      is_superuser: false,
      roles: [expect.objectContaining({ name: 'user' })],
    });
    const before = client.refreshToken;
    expect(await client.performTokenRefresh()).toBe(true);
    expect(client.refreshToken).not.toBe(before);
    expect((await client.getCurrentUser()).email).toBe(user.email);
    await expect(
      new VanaApiClient(base).login({ username: user.email, password: 'wrong-password' }),
    ).rejects.toMatchObject({ status_code: 401, message: expect.any(String) });
  });

  it('streams research started in the start race (stream opened before, or 0-120 ms after, the POST), shows phase and percentage, then a follow-up on the same stream', async () => {
    const client = await loggedIn(user);
    const chats = [0, 40, 120, -1].map(() => new VanaChatState(randomUUID()));
    const opened: VanaStream[] = [];
    // useAgentNetworkSSE(sessionId) of the first chat, opened before anything exists.
    const agentEvents: AgentNetworkEvent[] = [];
    const agentStream = openVanaStream(`${base}/agent_network_sse/${chats[0].sessionId}`, client.accessToken, (e) =>
      agentEvents.push(e),
    );
    streams.push(agentStream);
    expect(await agentStream.opened).toBe(200);
    await Promise.all(
      chats.map(async (chat, i) => {
        const delay = [0, 40, 120, -1][i];
        if (delay < 0) opened[i] = open(client, chat); // before the POST is even sent
        const sent = chat.sendMessage(client, `Question ${i} about heat pumps`);
        if (delay >= 0) {
          await sleep(delay);
          opened[i] = open(client, chat);
        }
        await sent;
      }),
    );
    for (const [i, chat] of chats.entries()) {
      expect(await opened[i].opened).toBe(200);
      await waitFor(async () => chat.completions === 1, 30000);
      expect(chat.progress).toMatchObject({
        status: 'completed',
        overall_progress: 1,
        final_report: expect.stringContaining('# Research report: Question'),
      });
      expect(chat.shown.some((c) => /^\*\*researching\*\*\n\nProgress: \d+%/.test(c))).toBe(true);
      const agents = opened[i].events.filter((e) => e.type === 'research_progress').flatMap((e) => e.data.agents);
      expect(agents.length).toBeGreaterThan(0);
      for (const a of agents) expect(AGENT_STATUSES.has(a.status)).toBe(true);
      expect(new Set(agents.map((a) => a.status))).toEqual(new Set(['current', 'waiting', 'completed']));
    }

    // The stream stays open after research_complete; a follow-up question streams on it.
    const chat = chats[0];
    await sleep(700);
    expect(opened[0].ended).toBe(false);
    expect(opened[0].events.some((e) => e.type === 'heartbeat')).toBe(true);
    await chat.sendMessage(client, 'And what about geothermal?');
    await waitFor(async () => chat.completions === 2, 30000);
    expect(chat.progress?.final_report).toContain('# Research report: And what about geothermal');
    expect(opened[0].events.filter((e) => e.type === 'connection')).toHaveLength(1);
    // The agent network stream delivered both runs with Vana's agent statuses, and is still open.
    const ended = () => agentEvents.filter((e) => e.type === 'agent_network_update' && e.data.status === 'completed');
    await waitFor(async () => ended().length === 2, 10000);
    expect(agentEvents[0].type).toBe('agent_network_connection');
    const updates = agentEvents.filter((e) => e.type === 'agent_network_update');
    expect(updates.length).toBeGreaterThan(4);
    const agentStates = updates.flatMap((e) => e.data.agents ?? []);
    expect(agentStates.length).toBeGreaterThan(0);
    for (const a of agentStates) expect(AGENT_STATUSES.has(a.status)).toBe(true);
    expect(agentEvents.some((e) => e.type === 'agent_start')).toBe(true);
    expect(agentStream.ended).toBe(false);

    // Reload: the list and the session, with the queries and reports as messages.
    const list = await client.listSessions();
    for (const c of chats) expect(list.map((s) => s.id)).toContain(c.sessionId);
    const row = list.find((s) => s.id === chat.sessionId);
    expect(row).toMatchObject({
      status: 'completed',
      current_phase: 'completed',
      progress: 1,
      user_id: expect.any(String),
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const detail = await client.getSession(chat.sessionId);
    expect(detail.final_report).toContain('geothermal');
    expect(detail.messages.map((m: any) => [m.role, m.content.slice(0, 12)])).toEqual([
      ['user', 'Question 0 a'],
      ['assistant', '# Research r'],
      ['user', 'And what abo'],
      ['assistant', '# Research r'],
    ]);
  });

  it('resumes the session stream with Last-Event-ID', async () => {
    const client = await loggedIn(user);
    const chat = new VanaChatState(randomUUID());
    const first = open(client, chat);
    await chat.sendMessage(client, 'Resume me');
    await waitFor(async () => chat.completions === 1, 30000);
    first.close();
    // An EventSource sends Last-Event-ID: the events after it, and nothing of the ended run beyond.
    const raw = await fetch(`${base}/api/run_sse/${chat.sessionId}`, {
      headers: { authorization: `Bearer ${client.accessToken}` },
    });
    void raw.body?.cancel();
    const seen: string[] = [];
    const again = openVanaStream(
      `${base}/api/run_sse/${chat.sessionId}`,
      client.accessToken,
      (e) => seen.push(e.type),
      { 'last-event-id': '1-3' },
    );
    streams.push(again);
    await waitFor(async () => seen.includes('research_complete'), 10000);
    const progressCount = first.events.filter((e) => e.type !== 'heartbeat' && e.type !== 'connection').length;
    expect(seen.filter((e) => e !== 'heartbeat' && e !== 'connection')).toHaveLength(progressCount - 3);
    again.close();
  });

  it('takes feedback, edits, regenerates and deletes messages, updates and deletes sessions as the client calls them', async () => {
    const client = await loggedIn(user);
    const chat = new VanaChatState(randomUUID());
    const s = open(client, chat);
    await chat.sendMessage(client, 'Batteries');
    await waitFor(async () => chat.completions === 1, 30000);
    let detail = await client.getSession(chat.sessionId);
    const [question, report] = detail.messages;

    expect(
      await client.submitFeedback({ type: 'general', message: 'Great research', rating: 5, extra: 'ignored' }),
    ).toEqual({ status: 'success' });
    expect(await client.submitFeedback({ score: 4.5, text: 'good', invocation_id: chat.sessionId })).toEqual({
      status: 'success',
    });
    const up = await client.submitMessageFeedback(report.id, 'upvote', 'clear');
    expect(up).toMatchObject({
      success: true,
      feedback_id: expect.any(String),
      message_id: report.id,
      session_id: chat.sessionId,
    });

    const updated = await client.updateSession(chat.sessionId, { title: 'Battery research', status: 'completed' });
    expect(updated).toMatchObject({ id: chat.sessionId, title: 'Battery research', status: 'completed' });
    const stored = await client.appendSessionMessage(chat.sessionId, {
      id: 'note-1',
      role: 'assistant',
      content: 'A note',
      timestamp: new Date().toISOString(),
      sessionId: chat.sessionId,
    });
    expect(stored).toMatchObject({ id: 'note-1', content: 'A note', sessionId: chat.sessionId });

    const edited = await client.editMessage(question.id, 'Batteries for homes', false);
    expect(edited).toMatchObject({
      success: true,
      message_id: question.id,
      session_id: chat.sessionId,
      operation: 'edit',
    });
    const deleted = await client.deleteMessage('note-1');
    expect(deleted).toMatchObject({
      success: true,
      operation: 'delete',
      data: { deleted_count: 1, deleted_message_ids: ['note-1'] },
    });

    // Regenerate: a new run of the question, streamed on the open stream.
    const regen = await client.regenerateMessage(report.id);
    expect(regen).toMatchObject({ success: true, operation: 'regenerate', session_id: chat.sessionId });
    await waitFor(async () => chat.completions === 2, 30000);
    detail = await client.getSession(chat.sessionId);
    expect(detail.messages.map((m: any) => m.role)).toEqual(['user', 'assistant']);
    expect(detail.messages[0].content).toBe('Batteries for homes');
    expect(detail.final_report).toContain('Batteries for homes');
    s.close();

    expect(await client.deleteSession(chat.sessionId)).toMatchObject({ success: true });
    await expect(client.getSession(chat.sessionId)).rejects.toMatchObject({
      status_code: 404,
      message: 'Research session not found',
    });
    await expect(client.startResearch(randomUUID(), { query: '' })).rejects.toMatchObject({
      status_code: 400,
      message: expect.stringContaining('Research query is required'),
    });
    const history = await client.getAgentNetworkHistory(10);
    expect(history).toMatchObject({ events: expect.any(Array), authenticated: true, timestamp: expect.any(String) });
  });

  it("answers Vana's {detail} 404 on every compat route for another user's and another team's session", async () => {
    const owner = await loggedIn(user);
    const chat = new VanaChatState(randomUUID());
    await chat.sendMessage(owner, 'Mine only');
    await waitFor(async () => (await owner.getSession(chat.sessionId)).status === 'completed', 30000);
    const [question, report] = (await owner.getSession(chat.sessionId)).messages;
    for (const other of [admin, outsider]) {
      const client = await loggedIn(other);
      const notFound = { status_code: 404, message: expect.stringMatching(/not found/) };
      await expect(client.getSession(chat.sessionId)).rejects.toMatchObject(notFound);
      await expect(client.updateSession(chat.sessionId, { title: 'x' })).rejects.toMatchObject(notFound);
      await expect(client.appendSessionMessage(chat.sessionId, { role: 'user', content: 'x' })).rejects.toMatchObject(
        notFound,
      );
      await expect(client.startResearch(chat.sessionId, { query: 'x', message: 'x' })).rejects.toMatchObject(notFound);
      await expect(
        client.makeRequest(`/api/run_sse/${chat.sessionId}/cancel`, { method: 'POST' }),
      ).rejects.toMatchObject(notFound);
      await expect(client.makeRequest(`/api/sessions/${chat.sessionId}`, { method: 'DELETE' })).rejects.toMatchObject(
        notFound,
      );
      await expect(client.editMessage(question.id, 'x')).rejects.toMatchObject(notFound);
      await expect(client.deleteMessage(question.id)).rejects.toMatchObject(notFound);
      await expect(client.regenerateMessage(report.id)).rejects.toMatchObject(notFound);
      await expect(client.submitMessageFeedback(report.id, 'downvote')).rejects.toMatchObject(notFound);
      await expect(client.submitFeedback({ score: 1, invocation_id: chat.sessionId })).rejects.toMatchObject(notFound);
      const stream = openVanaStream(`${base}/api/run_sse/${chat.sessionId}`, client.accessToken, () => undefined);
      expect(await stream.opened).toBe(404);
      const net = openVanaStream(`${base}/agent_network_sse/${chat.sessionId}`, client.accessToken, () => undefined);
      expect(await net.opened).toBe(404);
      expect((await client.listSessions()).map((s) => s.id)).not.toContain(chat.sessionId);
      const history = await client.getAgentNetworkHistory(100);
      expect(history.events.map((e: any) => e.data.sessionId)).not.toContain(chat.sessionId);
    }
    const res = await fetch(`${base}/api/sessions/${chat.sessionId}`, {
      headers: { authorization: `Bearer ${(await loggedIn(outsider)).accessToken}` },
    });
    expect(await res.json()).toEqual({ detail: 'Research session not found' });
    // The global guard's refusal in Vana's shape too (the client clears its tokens on a 401).
    const anonymous = await fetch(`${base}/api/sessions`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ detail: expect.any(String) });
  });

  it("answers an unknown path under the prefix with FastAPI's {detail} 404, the canonical body outside it", async () => {
    const missing = await fetch(`${base}/api/nothing-here`, { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ detail: 'Not Found' });
    const canonical = await fetch(`${base.replace(/\/compat\/vana$/, '')}/api/nothing-here`);
    expect(canonical.status).toBe(404);
    expect(((await canonical.json()) as { error: string }).error).toBe('NOT_FOUND');
  });
});
