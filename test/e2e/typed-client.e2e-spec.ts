import { createApiClient } from '../../clients/typescript/client';
import { runExample } from '../../clients/typescript/example';
import { registerTeam, Session } from 'test/factories/auth.factory';
import { responseValidator } from 'test/utils/openapi-responses';
import { withTestApp } from 'test/utils/test-app';

/**
 * The generated TypeScript client (clients/typescript, `npm run client`) against the real server: the
 * example's journey (login, mock agent, chat, a streamed reply that is cut once and resumes with
 * Last-Event-ID, research followed to its report), token refresh, and typed errors. Every JSON response
 * the client receives is also checked against openapi.json.
 */
describe('Typed TypeScript client (clients/typescript)', () => {
  let admin: Session;
  const seen: { method: string; path: string; status: number; lastEventId: string | null }[] = [];
  const problems: string[] = [];

  /** fetch that records requests, checks JSON answers against the document and can cut one event stream. */
  function recordingFetch(cutFirstStreamAfterEvents: number | null): typeof fetch {
    let cut = cutFirstStreamAfterEvents;
    return async (input, init) => {
      const req = new Request(input, init);
      const res = await fetch(req);
      const path = new URL(req.url).pathname;
      seen.push({ method: req.method, path, status: res.status, lastEventId: req.headers.get('last-event-id') });
      const type = res.headers.get('content-type') ?? '';
      if (type.startsWith('application/json')) {
        const problem = responseValidator()?.check(req.method, req.url, res.status, type, await res.clone().json());
        if (problem) problems.push(problem);
      }
      if (cut === null || !type.startsWith('text/event-stream') || !res.body) return res;
      const events = cut;
      cut = null;
      return new Response(cutAfter(res.body, events), { status: res.status, headers: res.headers });
    };
  }

  const t = withTestApp();
  beforeAll(async () => {
    admin = await registerTeam(t);
  });
  beforeEach(() => {
    seen.length = 0;
    problems.length = 0;
  });

  it('runs the example: login, mock agent, chat, a reply streamed across a forced disconnect, research to its report', async () => {
    const result = await runExample(t.url, admin.email, admin.password, recordingFetch(3));

    expect(result.resumes).toBe(1);
    expect(result.reply.length).toBeGreaterThan(0);
    expect(result.reply).toBe(result.storedReply);
    const resume = seen.find((r) => r.method === 'GET' && /\/messages\/[^/]+\/stream$/.test(r.path));
    expect(resume?.lastEventId).toMatch(/^\d+-\d+$/);
    expect(result.report.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it('refreshes an expired access token on its own and sends the request again', async () => {
    const api = createApiClient({ baseUrl: t.url, fetch: recordingFetch(null) });
    await api.POST('/api/auth/login', { body: { email: admin.email, password: admin.password } });
    const before = api.tokens.refreshToken;
    api.tokens.accessToken = 'not-a-valid-token';

    const me = await api.GET('/api/auth/me');

    expect(me.data?.email).toBe(admin.email);
    expect(api.tokens.refreshToken).not.toBe(before);
    expect(seen.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /api/auth/login 200',
      'GET /api/auth/me 401',
      'POST /api/auth/refresh 200',
      'GET /api/auth/me 200',
    ]);
    expect(problems).toEqual([]);
  });

  it('gives typed contract errors, naming the field of an unknown agent', async () => {
    const api = createApiClient({ baseUrl: t.url, fetch: recordingFetch(null) });
    await api.POST('/api/auth/login', { body: { email: admin.email, password: admin.password } });

    const res = await api.POST('/api/chats', { body: { agentId: '00000000-0000-4000-8000-000000000000' } });

    expect(res.response.status).toBe(404);
    expect(res.error?.error).toBe('NOT_FOUND');
    expect(res.error?.details.fieldErrors?.map((f) => f.field)).toEqual(['agentId']);
    expect(problems).toEqual([]);
  });

  it("answers 404 for another team's agent through the client", async () => {
    const other = await registerTeam(t);
    const api = createApiClient({ baseUrl: t.url, fetch: recordingFetch(null) });
    await api.POST('/api/auth/login', { body: { email: admin.email, password: admin.password } });
    const theirs = createApiClient({ baseUrl: t.url });
    await theirs.POST('/api/auth/login', { body: { email: other.email, password: other.password } });
    const agent = await theirs.POST('/api/agents', { body: { name: 'Theirs', provider: 'mock' } });

    const res = await api.GET('/api/agents/{id}', { params: { path: { id: agent.data?.id ?? '' } } });

    expect(res.response.status).toBe(404);
    expect(problems).toEqual([]);
  });
});

/** The body of an event stream up to the end of its `events`-th event, then a network error (a dropped connection). */
function cutAfter(body: ReadableStream<Uint8Array>, events: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let text = '';
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          controller.enqueue(encoder.encode(text));
          return controller.close();
        }
        text += decoder.decode(value, { stream: true });
        let at = 0;
        let count = 0;
        while (count < events) {
          const end = text.indexOf('\n\n', at);
          if (end < 0) break;
          if (/^event:/m.test(text.slice(at, end))) count++; // comments and retry hints are not events
          at = end + 2;
        }
        if (count < events) continue;
        controller.enqueue(encoder.encode(text.slice(0, at)));
        await reader.cancel();
        return controller.error(new TypeError('forced disconnect'));
      }
    },
  });
}
