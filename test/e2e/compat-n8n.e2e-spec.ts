import { AuditService } from 'src/common/audit/audit.service';
import { registerTeam, Session, strongPassword, uniqueEmail } from 'test/factories/auth.factory';
import { N8nBrowser, readLikeSeedFrontend, SeedEvent } from 'test/e2e/compat-n8n-client';
import { FakeN8nServer } from 'test/fakes/fake-n8n-server';
import { createTestApp, TestApp } from 'test/utils/test-app';

const png = () => {
  const b = Buffer.alloc(64, 0x11);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  return b;
};
const avatarForm = (buf: Buffer) => {
  const form = new FormData();
  form.append('file', new Blob([buf]), 'avatar.png');
  return form;
};

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/**
 * The n8n chat backend's flows (seeds 001 and 003) as its frontend runs them, against /compat/n8n: cookies
 * only, the seed's field names, arrays, and the reply read with the frontend's own ReadableStream reader.
 */
describe('compat/n8n: the n8n chat frontend against /compat/n8n', () => {
  let t: TestApp;
  let n8n: FakeN8nServer;
  let webhookBase: string;
  let teamAdmin: Session;
  let base: string;

  beforeAll(async () => {
    n8n = new FakeN8nServer('sse');
    webhookBase = await n8n.start();
    // The fake webhook listens on 127.0.0.1: allow private upstreams, as the other LLM e2e tests do.
    t = await createTestApp({ env: { ALLOW_PRIVATE_UPSTREAMS: 'true', CHAT_MESSAGES_PER_MINUTE: '1000' } });
    base = `${t.url}/compat/n8n`;
    // Seed 001, step 1 creates the team with SQL; here its admin creates it and opens it for sign-up by id.
    teamAdmin = await registerTeam(t);
    await t.http().patch('/api/teams/current').set(teamAdmin.bearer).send({ allowOpenSignup: true }).expect(200);
  });
  afterAll(async () => {
    await t?.app.get(AuditService).flush(); // the audit middleware writes after the last response
    await t?.close();
    await n8n?.stop();
  });

  async function loggedIn(email: string, password: string): Promise<N8nBrowser> {
    const b = new N8nBrowser(base);
    const res = await b.json('/api/auth/login', { method: 'POST', body: { email, password } });
    expect(res.status).toBe(200);
    return b;
  }

  /** register → login by cookies, as seed 003 "Authentication Flow" 1-2. */
  async function newMember(
    teamId: string,
  ): Promise<{ browser: N8nBrowser; user: any; email: string; password: string }> {
    const email = uniqueEmail('n8n');
    const password = strongPassword();
    const b = new N8nBrowser(base);
    const reg = await b.json('/api/auth/register', { method: 'POST', body: { email, password, team_id: teamId } });
    expect(reg.status).toBe(201);
    const login = await b.json('/api/auth/login', { method: 'POST', body: { email, password } });
    expect(login.status).toBe(200);
    return { browser: b, user: reg.body, email, password };
  }

  async function createAgent(admin: N8nBrowser, body: Record<string, unknown> = {}): Promise<any> {
    const res = await admin.json('/api/agents', {
      method: 'POST',
      body: { name: 'Test Bot', webhook_url: `${webhookBase}/webhook/test`, ...body },
    });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function send(
    b: N8nBrowser,
    chatId: string,
    content: string,
  ): Promise<{ status: number; text: string; events: SeedEvent[]; contentType: string | null }> {
    // The frontend's call, seed 001: POST, JSON body {content}, credentials: 'include'.
    const response = await b.fetch(`/api/chats/${chatId}/messages`, { method: 'POST', body: { content } });
    const contentType = response.headers.get('content-type');
    if (response.status !== 200) return { status: response.status, text: '', events: [], contentType };
    return { status: 200, contentType, ...(await readLikeSeedFrontend(response)) };
  }

  it('runs the documented flow: register with team_id, login (cookies), agent with webhook_url, chat with agent_id, streamed reply, arrays', async () => {
    n8n.reset();
    // Register into the team by team_id; unknown fields from the frontend are ignored.
    const email = uniqueEmail('n8n');
    const password = strongPassword();
    const b = new N8nBrowser(base);
    const reg = await b.json('/api/auth/register', {
      method: 'POST',
      body: { email, password, team_id: teamAdmin.teamId, full_name: 'Ada', confirm_password: password },
    });
    expect(reg.status).toBe(201);
    expect(reg.body).toEqual({
      id: expect.any(String),
      email,
      full_name: 'Ada',
      role: 'user',
      team_id: teamAdmin.teamId,
      is_active: true,
      created_at: expect.stringMatching(ISO),
      last_login_at: null,
    });
    expect(JSON.stringify(reg.body)).not.toMatch(/password/);

    // Login: httpOnly cookies access_token and refresh_token; the refresh cookie reaches the surface's refresh route.
    const login = await b.fetch('/api/auth/login', { method: 'POST', body: { email, password } });
    expect(login.status).toBe(200);
    expect(await login.json()).toEqual({
      message: 'Login successful',
      user: expect.objectContaining({ id: reg.body.id, email, team_id: teamAdmin.teamId }),
    });
    const setCookies = login.headers.getSetCookie();
    expect(setCookies.find((c) => c.startsWith('access_token='))).toMatch(/HttpOnly/i);
    expect(setCookies.find((c) => c.startsWith('refresh_token='))).toMatch(/Path=\/compat\/n8n\/api\/auth/);
    expect(b.cookie('access_token')?.path).toBe('/');
    const me = await b.json('/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: reg.body.id,
      email,
      full_name: 'Ada',
      role: 'user',
      team_id: teamAdmin.teamId,
      is_active: true,
    });

    // The team's admin creates the agent (admin only, as in the seed), with webhook_url, token, prompt and config.
    const admin = await loggedIn(teamAdmin.email, teamAdmin.password);
    const agent = await createAgent(admin, {
      description: 'Answers questions',
      webhook_token: 'n8n-secret-token',
      system_prompt: 'You are a helpful assistant.',
      config: { model: 'gpt-4', temperature: 0.2, unknown_key: 1 },
      avatar: 'ignored',
    });
    expect(agent).toEqual({
      id: expect.any(String),
      team_id: teamAdmin.teamId,
      name: 'Test Bot',
      description: 'Answers questions',
      webhook_url: `${webhookBase}/webhook/test`,
      system_prompt: 'You are a helpful assistant.',
      config: { model: 'gpt-4', temperature: 0.2 },
      avatar_url: null,
      is_active: true,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    });
    expect(JSON.stringify(agent)).not.toContain('n8n-secret-token');
    // The member sees the team's agents as an array.
    const agents = await b.json('/api/agents');
    expect(agents.status).toBe(200);
    expect(Array.isArray(agents.body)).toBe(true);
    expect(agents.body.map((a: { id: string }) => a.id)).toContain(agent.id);

    // Chat with agent_id.
    const created = await b.json('/api/chats', {
      method: 'POST',
      body: { agent_id: agent.id, title: 'Test', extra: true },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      team_id: teamAdmin.teamId,
      user_id: reg.body.id,
      agent_id: agent.id,
      title: 'Test',
      messages: [],
      metadata: {},
      is_archived: false,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    });
    const chatId = created.body.id as string;

    // Send and read the reply with the frontend's reader: the exact event sequence of seed 003.
    n8n.enqueue({ deltas: ['Hi', ' there!', ' How', ' can', ' I', ' help', ' you', '?'] });
    const r = await send(b, chatId, 'Hello');
    expect(r.status).toBe(200);
    expect(r.contentType).toContain('text/event-stream');
    expect(r.text).toBe('Hi there! How can I help you?');
    const types = r.events.map((e) => e.type);
    expect(types[0]).toBe('status');
    expect(types.slice(1, -2).every((x) => x === 'message')).toBe(true);
    expect(types.slice(-2)).toEqual(['status', 'done']);
    expect(r.events[0].data).toEqual({ description: 'Sending request...', level: 'info', done: false });
    for (const e of r.events.filter((x) => x.type === 'message')) expect(Object.keys(e.data)).toEqual(['content']);
    expect(r.events[r.events.length - 2]).toEqual({
      type: 'status',
      data: { description: 'Stream completed', level: 'info', done: true },
    });
    expect(r.events[r.events.length - 1]).toEqual({ type: 'done', data: { message: 'Stream completed' } });

    // The webhook got the seed's request: {messages, system_prompt, config} with the bearer token.
    const hook = n8n.requests[n8n.requests.length - 1];
    expect(hook.url).toBe('/webhook/test');
    expect(hook.headers.authorization).toBe('Bearer n8n-secret-token');
    expect(hook.body).toEqual(
      expect.objectContaining({
        system_prompt: 'You are a helpful assistant.',
        config: expect.objectContaining({ model: 'gpt-4', temperature: 0.2 }),
      }),
    );
    expect(hook.body.messages[hook.body.messages.length - 1]).toEqual(
      expect.objectContaining({ role: 'user', content: 'Hello' }),
    );

    // Reload: the chats list is an array; the chat has its messages {role, content, timestamp}.
    const list = await b.json('/api/chats');
    expect(list.status).toBe(200);
    expect(Array.isArray(list.body)).toBe(true);
    expect(list.body.map((c: { id: string }) => c.id)).toEqual([chatId]);
    expect(list.body[0]).toEqual(
      expect.objectContaining({
        id: chatId,
        agent_id: agent.id,
        user_id: reg.body.id,
        team_id: teamAdmin.teamId,
        title: 'Test',
      }),
    );
    const chat = await b.json(`/api/chats/${chatId}`);
    expect(chat.status).toBe(200);
    expect(chat.body.messages).toEqual([
      { role: 'user', content: 'Hello', timestamp: expect.stringMatching(ISO) },
      { role: 'assistant', content: 'Hi there! How can I help you?', timestamp: expect.stringMatching(ISO) },
    ]);

    // A follow-up sends the whole history to the webhook.
    n8n.enqueue({ deltas: ['Sure', '.'] });
    const second = await send(b, chatId, 'Thanks');
    expect(second.text).toBe('Sure.');
    expect(second.events.slice(-2).map((e) => e.type)).toEqual(['status', 'done']);
    expect(n8n.requests[n8n.requests.length - 1].body.messages.map((m: { content: string }) => m.content)).toEqual([
      'Hello',
      'Hi there! How can I help you?',
      'Thanks',
    ]);
    const reloaded = await b.json(`/api/chats/${chatId}`);
    expect(reloaded.body.messages.map((m: { role: string }) => m.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
  });

  it('a webhook answering one JSON document {content} (seed 001, "complete response") streams as the same sequence', async () => {
    const { browser: b } = await newMember(teamAdmin.teamId);
    const admin = await loggedIn(teamAdmin.email, teamAdmin.password);
    const agent = await createAgent(admin, { name: 'JSON bot', webhook_url: `${webhookBase}/webhook/json` });
    const chat = (await b.json('/api/chats', { method: 'POST', body: { agent_id: agent.id } })).body;
    n8n.enqueue({ format: 'json', deltas: ['full ', 'response'] });
    const r = await send(b, chat.id, 'Hello');
    expect(r.text).toBe('full response');
    expect(r.events.map((e) => e.type)).toEqual(['status', 'message', 'status', 'done']);
    expect(r.events[2].data).toEqual({ description: 'Stream completed', level: 'info', done: true });
  });

  it('a failing webhook ends the stream with a closing status at level error and an error event', async () => {
    const { browser: b } = await newMember(teamAdmin.teamId);
    const admin = await loggedIn(teamAdmin.email, teamAdmin.password);
    const agent = await createAgent(admin, { name: 'Broken bot', webhook_url: `${webhookBase}/webhook/broken` });
    const chat = (await b.json('/api/chats', { method: 'POST', body: { agent_id: agent.id } })).body;
    n8n.enqueue({ status: 401 }, { status: 401 }, { status: 401 });
    const r = await send(b, chat.id, 'Hello?');
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    expect(r.events.map((e) => e.type)).toEqual(['status', 'status', 'error']);
    expect(r.events[1]).toEqual({
      type: 'status',
      data: { description: r.events[2].data.message, level: 'error', done: true },
    });
    expect(r.events[2].data).toEqual({ message: expect.any(String), code: expect.stringMatching(/^UPSTREAM_/) });
    n8n.reset();
  });

  it('updates and deletes chats and agents with the seed verbs (PUT changes only the fields sent)', async () => {
    const { browser: b } = await newMember(teamAdmin.teamId);
    const admin = await loggedIn(teamAdmin.email, teamAdmin.password);
    const agent = await createAgent(admin, { system_prompt: 'Be brief.', config: { model: 'gpt-4o' } });
    const renamed = await admin.json(`/api/agents/${agent.id}`, {
      method: 'PUT',
      body: { name: 'Renamed', is_active: false },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual(
      expect.objectContaining({
        name: 'Renamed',
        is_active: false,
        system_prompt: 'Be brief.',
        config: { model: 'gpt-4o' },
      }),
    );
    expect((await b.json(`/api/agents/${agent.id}`)).body.name).toBe('Renamed');
    const avatar = await admin.json(`/api/agents/${agent.id}/avatar`, { method: 'POST', form: avatarForm(png()) });
    expect(avatar.status).toBe(200);
    expect(avatar.body.avatar_url).toMatch(new RegExp(`^/api/agents/${agent.id}/avatar\\?v=[0-9a-f]{16}$`));
    const notImage = await admin.json(`/api/agents/${agent.id}/avatar`, {
      method: 'POST',
      form: avatarForm(Buffer.from('<svg/>')),
    });
    expect(notImage.status).toBe(415);
    expect(notImage.body).toEqual({ detail: expect.any(String) });

    const chat = (await b.json('/api/chats', { method: 'POST', body: { agent_id: agent.id } })).body;
    const put = await b.json(`/api/chats/${chat.id}`, {
      method: 'PUT',
      body: { title: 'Renamed chat', is_archived: true, metadata: { tags: ['x'] } },
    });
    expect(put.status).toBe(200);
    expect(put.body).toEqual(
      expect.objectContaining({ id: chat.id, title: 'Renamed chat', is_archived: true, metadata: { tags: ['x'] } }),
    );
    expect((await b.fetch(`/api/chats/${chat.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await b.json(`/api/chats/${chat.id}`)).status).toBe(404);
    expect((await admin.fetch(`/api/agents/${agent.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await b.json(`/api/agents/${agent.id}`)).status).toBe(404);
  });

  it('refreshes with the refresh_token cookie (rotated) and logs out (cookies cleared, then 401 {detail})', async () => {
    const { browser: b } = await newMember(teamAdmin.teamId);
    const first = b.cookie('refresh_token')!.value;
    const refreshed = await b.json('/api/auth/refresh', { method: 'POST' });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toEqual({ message: 'Token refreshed successfully' });
    expect(b.cookie('refresh_token')!.value).not.toBe(first);
    expect((await b.json('/api/auth/me')).status).toBe(200);

    const out = await b.json('/api/auth/logout', { method: 'POST' });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ message: 'Logged out successfully' });
    expect(b.cookie('access_token')).toBeUndefined();
    expect(b.cookie('refresh_token')).toBeUndefined();
    const me = await b.json('/api/auth/me');
    expect(me.status).toBe(401);
    expect(me.body).toEqual({ detail: expect.any(String) });
  });

  describe('errors in the seed system shape (FastAPI {detail})', () => {
    it('422 with detail [{loc, msg, type}] naming the seed fields; unknown fields are not an error', async () => {
      const b = new N8nBrowser(base);
      const res = await b.json('/api/auth/register', {
        method: 'POST',
        body: { email: uniqueEmail(), password: strongPassword(), nickname: 'x' },
      });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        detail: [
          expect.objectContaining({
            loc: ['body', 'team_id'],
            msg: expect.stringContaining('team_id'),
            type: 'value_error',
          }),
        ],
      });

      const admin = await loggedIn(teamAdmin.email, teamAdmin.password);
      const noHook = await admin.json('/api/agents', { method: 'POST', body: { name: 'No hook', colour: 'blue' } });
      expect(noHook.status).toBe(422);
      expect(noHook.body.detail).toEqual([expect.objectContaining({ loc: ['body', 'webhook_url'] })]);
      const badHook = await admin.json('/api/agents', {
        method: 'POST',
        body: { name: 'Bad hook', webhook_url: 'ftp://example.com/x' },
      });
      expect(badHook.status).toBe(422);
      expect(badHook.body.detail[0].loc).toEqual(['body', 'webhook_url']);
    });

    it('a closed or unknown team is 404 {detail}; an email taken in the team is 409 {detail}; a wrong password is 401 {detail}', async () => {
      const closed = await registerTeam(t);
      const b = new N8nBrowser(base);
      const res = await b.json('/api/auth/register', {
        method: 'POST',
        body: { email: uniqueEmail(), password: strongPassword(), team_id: closed.teamId },
      });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ detail: expect.any(String) });
      const unknown = await b.json('/api/auth/register', {
        method: 'POST',
        body: { email: uniqueEmail(), password: strongPassword(), team_id: '00000000-0000-4000-8000-000000000000' },
      });
      expect(unknown.status).toBe(404);

      const { email } = await newMember(teamAdmin.teamId);
      const dup = await b.json('/api/auth/register', {
        method: 'POST',
        body: { email, password: strongPassword(), team_id: teamAdmin.teamId },
      });
      expect(dup.status).toBe(409);
      expect(dup.body).toEqual({ detail: expect.any(String) });
      const wrong = await b.json('/api/auth/login', {
        method: 'POST',
        body: { email, password: 'not-the-password-1' },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.body).toEqual({ detail: 'Invalid email or password' });
    });

    it('a member cannot manage agents (403 {detail}); cookie writes need an allowed Origin (403 {detail}); no cookie is 401', async () => {
      const { browser: b, email, password } = await newMember(teamAdmin.teamId);
      const res = await b.json('/api/agents', {
        method: 'POST',
        body: { name: 'Mine', webhook_url: `${webhookBase}/webhook/x` },
      });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ detail: expect.any(String) });

      const foreign = new N8nBrowser(base, 'https://evil.example');
      await foreign.json('/api/auth/login', { method: 'POST', body: { email, password } });
      const csrf = await foreign.json('/api/chats', {
        method: 'POST',
        body: { agent_id: '00000000-0000-4000-8000-000000000000' },
      });
      expect(csrf.status).toBe(403);
      expect(csrf.body).toEqual({ detail: expect.any(String) });

      const anonymous = await new N8nBrowser(base).json('/api/chats');
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toEqual({ detail: expect.any(String) });
    });

    it('malformed JSON and unknown paths under the prefix answer {detail} too', async () => {
      const b = new N8nBrowser(base);
      const bad = await b.fetch('/api/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        raw: '{"email": ',
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ detail: expect.any(String) });
      const missing = await b.json('/api/nothing-here');
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ detail: 'Not Found' });
      // Outside the prefix the canonical body is unchanged.
      const canonical = await t.http().get('/api/nothing-here');
      expect(canonical.status).toBe(404);
      expect(canonical.body.error).toBe('NOT_FOUND');
    });

    it('the canonical API stays strict: the seed field names are refused there', async () => {
      const res = await t
        .http()
        .post('/api/chats')
        .set(teamAdmin.bearer)
        .send({ agent_id: '00000000-0000-4000-8000-000000000000' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('VALIDATION_FAILED');
    });
  });

  describe('isolation on every compat route: another team’s agent or chat is 404 {detail}', () => {
    let admin: N8nBrowser;
    let member: N8nBrowser;
    let agentId: string;
    let chatId: string;
    let outsider: N8nBrowser;
    let colleague: N8nBrowser;

    beforeAll(async () => {
      admin = await loggedIn(teamAdmin.email, teamAdmin.password);
      ({ browser: member } = await newMember(teamAdmin.teamId));
      ({ browser: colleague } = await newMember(teamAdmin.teamId));
      agentId = (await createAgent(admin, { name: 'Private bot' })).id;
      chatId = (await member.json('/api/chats', { method: 'POST', body: { agent_id: agentId, title: 'Secret chat' } }))
        .body.id;
      const other = await registerTeam(t);
      outsider = await loggedIn(other.email, other.password);
    });

    const notFound = (res: { status: number; body: unknown }) => {
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ detail: expect.any(String) });
    };

    it('agents: get, put, delete, avatar and create-chat-with are 404; the list does not show them', async () => {
      notFound(await outsider.json(`/api/agents/${agentId}`));
      notFound(await outsider.json(`/api/agents/${agentId}/avatar`, { method: 'POST', form: avatarForm(png()) }));
      notFound(await outsider.json(`/api/agents/${agentId}`, { method: 'PUT', body: { name: 'Taken' } }));
      notFound(await outsider.json(`/api/agents/${agentId}`, { method: 'DELETE' }));
      notFound(await outsider.json('/api/chats', { method: 'POST', body: { agent_id: agentId } }));
      const list = await outsider.json('/api/agents');
      expect(list.status).toBe(200);
      expect(list.body.map((a: { id: string }) => a.id)).not.toContain(agentId);
      expect((await admin.json(`/api/agents/${agentId}`)).body.name).toBe('Private bot');
    });

    it('chats: get, put, delete and send are 404 for another team and for another member of the same team', async () => {
      for (const who of [outsider, colleague]) {
        notFound(await who.json(`/api/chats/${chatId}`));
        notFound(await who.json(`/api/chats/${chatId}`, { method: 'PUT', body: { title: 'Taken' } }));
        notFound(await who.json(`/api/chats/${chatId}`, { method: 'DELETE' }));
        notFound(await who.json(`/api/chats/${chatId}/messages`, { method: 'POST', body: { content: 'Hi' } }));
        const list = await who.json('/api/chats');
        expect(list.status).toBe(200);
        expect(list.body.map((c: { id: string }) => c.id)).not.toContain(chatId);
      }
      notFound(await outsider.json('/api/chats/not-a-uuid'));
      const mine = await member.json(`/api/chats/${chatId}`);
      expect(mine.status).toBe(200);
      expect(mine.body.title).toBe('Secret chat');
    });
  });
});
