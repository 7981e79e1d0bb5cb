import { randomUUID } from 'node:crypto';
import { AgentsService } from 'src/agents/agents.service';
import { CreateAgentDto } from 'src/agents/dto/create-agent.dto';
import { AuthUser } from 'src/common/auth-user';
import { ResearchRunsService } from 'src/research/runs/research-runs.service';
import { ResearchSessionsService } from 'src/research/sessions/research-sessions.service';
import { ResearchSettingsService } from 'src/research/sessions/research-settings.service';
import { withTestApp } from 'test/utils/test-app';

function fakeUser(teamId: string = randomUUID(), role: 'admin' | 'user' = 'admin'): AuthUser {
  return {
    id: randomUUID(),
    teamId,
    role,
    email: `${randomUUID()}@example.com`,
    jti: randomUUID(),
    exp: Math.floor(Date.now() / 1000) + 3600,
  };
}

describe('Research runs and sessions (medium: real services, real database)', () => {
  let runs: ResearchRunsService;
  let sessions: ResearchSessionsService;
  let settings: ResearchSettingsService;
  let agents: AgentsService;

  const t = withTestApp({ env: { MOCK_LLM_DELAY_MS: '2', MOCK_LLM_DELTAS: '5' } });
  beforeAll(async () => {
    runs = t.app.get(ResearchRunsService);
    sessions = t.app.get(ResearchSessionsService);
    settings = t.app.get(ResearchSettingsService);
    agents = t.app.get(AgentsService);
  });

  const waitDone = async (user: AuthUser, id: string) => {
    for (let i = 0; i < 400; i++) {
      const s = await sessions.get(user, id);
      if (s.status !== 'running') return s;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('run did not finish');
  };

  it('starts exactly one run when the same session is started concurrently', async () => {
    const user = fakeUser();
    const id = randomUUID();
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => runs.start(user, id, { query: 'Concurrent starts' })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(refused.map((r) => r.reason.code)).toEqual(['CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT']);
    expect((await waitDone(user, id)).status).toBe('completed');
  });

  it('never lets a second user take over a session id, even when both start it at once', async () => {
    const teamId = randomUUID();
    const [a, b] = [fakeUser(teamId), fakeUser(teamId, 'user')];
    const id = `race-${randomUUID().slice(0, 8)}`;
    const results = await Promise.allSettled([
      runs.start(a, id, { query: 'mine' }),
      runs.start(b, id, { query: 'mine too' }),
    ]);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0].reason.code).toBe('NOT_FOUND');
    const owner = results[0].status === 'fulfilled' ? a : b;
    await waitDone(owner, id);
  });

  it('stores one message per client id under concurrent posts', async () => {
    const user = fakeUser();
    const id = randomUUID();
    await runs.start(user, id, { query: 'Messages' });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        sessions.addMessage(user, id, { id: 'same', role: 'user', content: `copy ${i}` }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.message.content)).size).toBe(1);
    await waitDone(user, id);
    // The report message is stored right after the session row turns completed (before the terminal event).
    let s = await sessions.get(user, id);
    for (let i = 0; i < 200 && s.messages.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 25));
      s = await sessions.get(user, id);
    }
    // the query (stored at the start), the client's message, the report (stored at the end)
    expect(s.messages.map((m) => m.role)).toEqual(['user', 'user', 'assistant']);
    expect(s.messages.filter((m) => m.id === 'same')).toHaveLength(1);
  });

  it("uses the team's first active agent by default and the configured agents once set", async () => {
    const admin = fakeUser();
    expect((await settings.resolveChains(admin.teamId)).worker[0].id).toBe('builtin-mock');
    const first = await agents.create(admin, { name: 'First', provider: 'mock', model: 'first' });
    const critic = await agents.create(admin, { name: 'Critic', provider: 'mock', model: 'critic' });
    let chains = await settings.resolveChains(admin.teamId);
    expect([chains.worker[0].id, chains.critic[0].id]).toEqual([first.id, first.id]);
    await settings.update(admin, { criticAgentId: critic.id });
    chains = await settings.resolveChains(admin.teamId);
    expect([chains.worker[0].id, chains.critic[0].id]).toEqual([first.id, critic.id]);
    // A configured agent deleted later falls back to the default instead of breaking every run.
    await agents.delete(admin, critic.id);
    chains = await settings.resolveChains(admin.teamId);
    expect(chains.critic[0].id).toBe(first.id);
  });

  it("fails the run with the provider's error code when a planning agent keeps failing", async () => {
    const admin = fakeUser();
    const broken = await agents.create(admin, {
      name: 'Broken',
      provider: 'mock',
      model: 'x',
      config: { mockError: 'auth' },
    } as unknown as CreateAgentDto);
    await settings.update(admin, { workerAgentId: broken.id });
    const id = randomUUID();
    await runs.start(admin, id, { query: 'Will fail' });
    const s = await waitDone(admin, id);
    expect(s).toMatchObject({ status: 'failed', error: { code: 'UPSTREAM_AUTH_FAILED' } });
  });
});
