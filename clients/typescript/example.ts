/**
 * The whole journey with the generated client, no casts: log in, create a mock agent, create a chat,
 * stream a reply (dropping the connection once and resuming), start a research session and follow it.
 *
 *   API_URL=http://localhost:3000 API_EMAIL=admin@example.com API_PASSWORD=… npx ts-node clients/typescript/example.ts
 *
 * (`.ci/run` type-checks it with `tsc -p clients/typescript`; test/e2e/typed-client.e2e-spec.ts runs
 * the same steps through `runExample` against a test server.)
 */
import { randomUUID } from 'node:crypto';
import { createApiClient } from './client';

export interface ExampleResult {
  agentId: string;
  chatId: string;
  reply: string;
  storedReply: string;
  resumes: number;
  report: string;
}

export async function runExample(
  baseUrl: string,
  email: string,
  password: string,
  fetchImpl?: typeof fetch,
): Promise<ExampleResult> {
  const api = createApiClient({ baseUrl, fetch: fetchImpl });

  // 1. log in (the client keeps the tokens and refreshes them on a 401)
  const login = await api.POST('/api/auth/login', { body: { email, password } });
  if (!login.data) throw new Error(`login failed: ${login.error?.message}`);

  // 2. a mock agent (offline provider: no API key needed)
  const agent = await api.POST('/api/agents', {
    body: { name: `Example ${randomUUID().slice(0, 8)}`, provider: 'mock', config: { mockDeltas: 20, mockDelayMs: 5 } },
  });
  if (!agent.data) throw new Error(`agent: ${agent.error?.message}`);

  // 3. a chat with it
  const chat = await api.POST('/api/chats', { body: { agentId: agent.data.id, title: 'Typed client example' } });
  if (!chat.data) throw new Error(`chat: ${chat.error?.message}`);

  // 4. stream a reply; the helper resumes with Last-Event-ID when the connection drops
  let reply = '';
  let resumes = 0;
  let assistantId = '';
  for await (const event of api.sendMessage(chat.data.id, { content: 'Hello!' }, { onReconnect: () => resumes++ })) {
    if (event.event === 'status' && event.data.data.assistantMessageId)
      assistantId = event.data.data.assistantMessageId;
    if (event.event === 'message') reply += event.data.data.content;
    if (event.event === 'error') throw new Error(`reply failed: ${event.data.data.message}`);
  }
  const stored = await api.GET('/api/chats/{id}', { params: { path: { id: chat.data.id } } });
  const storedReply = stored.data?.messages.find((m) => m.id === assistantId)?.content ?? '';

  // 5. a research session (the client chooses its id), followed to its report
  const sessionId = randomUUID();
  const started = await api.POST('/api/research/sessions', {
    body: { id: sessionId, query: 'What is retrieval-augmented generation?' },
  });
  if (!started.data) throw new Error(`research: ${started.error?.message}`);
  let report = '';
  for await (const event of api.followResearch(sessionId)) {
    if (event.event === 'research_complete') report = event.data.data.final_report;
    if (event.event === 'error') throw new Error(`research failed: ${event.data.data.message}`);
  }
  return { agentId: agent.data.id, chatId: chat.data.id, reply, storedReply, resumes, report };
}

if (require.main === module) {
  const { API_URL = 'http://localhost:3000', API_EMAIL = '', API_PASSWORD = '' } = process.env;
  runExample(API_URL, API_EMAIL, API_PASSWORD).then(
    (r) => process.stdout.write(`${JSON.stringify({ ...r, report: `${r.report.slice(0, 80)}…` }, null, 2)}\n`),
    (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    },
  );
}
