import { Session, teamMatrix } from 'test/factories/auth.factory';
import { readSse } from 'test/e2e/chats-sse';
import { TestApp, withTestApp } from 'test/utils/test-app';

/** The value of one sample line `name{labels} value` in a Prometheus text exposition (undefined: absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const scrape = async (t: TestApp): Promise<string> => (await t.http().get('/metrics').expect(200)).text;

async function waitFinished(t: TestApp, s: Session, chatId: string, messageId: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const res = await t.http().get(`/api/chats/${chatId}/tree`).set(s.bearer).expect(200);
    const m = res.body.items.find((x: { id: string }) => x.id === messageId);
    if (m && m.status !== 'streaming') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('message did not finish');
}

describe('Metrics wired to real chat traffic', () => {
  let admin: Session;
  let user: Session;

  const t = withTestApp();
  beforeAll(async () => {
    ({ admin, user } = await teamMatrix(t));
  });

  it('records time to first token, duration and SSE counts of a chat reply by the mock provider, and counts a resume', async () => {
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Metered', provider: 'mock', model: 'mock-1', config: { mockDeltas: 5, mockDelayMs: 1 } })
      .expect(201);
    const chat = await t.http().post('/api/chats').set(user.bearer).send({ agentId: agent.body.id }).expect(201);
    const before = await scrape(t);
    const resumesBefore = sample(before, 'chat_backend_stream_resumes_total', { kind: 'chat', source: 'log' }) ?? 0;

    const full = await readSse(`${t.url}/api/chats/${chat.body.id}/messages`, {
      method: 'POST',
      headers: user.bearer,
      body: { content: 'count me' },
    });
    expect(full.events[full.events.length - 1].event).toBe('done');
    const messageId = (full.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
    await waitFinished(t, user, chat.body.id, messageId);

    const text = await scrape(t);
    expect(sample(text, 'chat_backend_llm_time_to_first_token_seconds_count', { provider: 'mock' })).toBeGreaterThan(0);
    expect(
      sample(text, 'chat_backend_llm_request_duration_seconds_count', { provider: 'mock', outcome: 'ok' }),
    ).toBeGreaterThan(0);
    expect(sample(text, 'chat_backend_sse_events_sent_total', { kind: 'chat', type: 'done' })).toBeGreaterThan(0);
    expect(sample(text, 'chat_backend_sse_subscribers_active', { kind: 'chat' })).toBe(0);
    expect(sample(text, 'chat_backend_sse_streams_active', { kind: 'chat' })).toBe(0);

    // Resume from the first event: the log still holds the stream.
    const rest = await readSse(`${t.url}/api/chats/${chat.body.id}/messages/${messageId}/stream`, {
      headers: { ...user.bearer, 'Last-Event-ID': full.events[0].id as string },
    });
    expect(rest.events[rest.events.length - 1].event).toBe('done');
    const after = await scrape(t);
    expect(sample(after, 'chat_backend_stream_resumes_total', { kind: 'chat', source: 'log' })).toBe(resumesBefore + 1);
  });
});
