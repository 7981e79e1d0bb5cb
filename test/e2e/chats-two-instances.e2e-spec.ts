import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp } from 'src/app.factory';
import { loadConfig } from 'src/config/env';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { contentOf, readSse } from 'test/e2e/chats-sse';
import { TEST_TMP } from 'test/utils/global-setup';
import { authenticateWith } from 'test/utils/passport-instances';
import { baseTestEnv, createTestApp, TestApp } from 'test/utils/test-app';

const shared = Boolean(process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL);
const SKIP_REASON =
  'needs TEST_DATABASE_URL and TEST_REDIS_URL: two instances can only share PostgreSQL and Redis, not one embedded database';
if (!shared) {
  // Visible in the output, never silent.
  process.stderr.write(`[chats-two-instances] SKIPPED: ${SKIP_REASON}\n`);
}
const describeShared = shared ? describe : describe.skip;

describeShared(`Two app instances sharing PostgreSQL and Redis${shared ? '' : ` (skipped: ${SKIP_REASON})`}`, () => {
  let a: TestApp;
  let b: { app: NestExpressApplication; url: string; close(): Promise<void> };
  let admin: Session;
  let user: Session;
  let chatId: string;

  beforeAll(async () => {
    a = await createTestApp({ env: { CHAT_MAX_CONCURRENT_GENERATIONS: '20', CHAT_MESSAGES_PER_MINUTE: '1000' } });
    // Instance B: same database, same Redis and key prefix, its own process state.
    const dir = mkdtempSync(join(TEST_TMP, 'app-b-'));
    const env = {
      ...baseTestEnv(dir),
      DATABASE_URL: a.config.db.url!,
      REDIS_KEY_PREFIX: a.config.redisKeyPrefix,
      DB_MIGRATIONS_RUN: 'false',
      CHAT_MAX_CONCURRENT_GENERATIONS: '20',
      CHAT_MESSAGES_PER_MINUTE: '1000',
    };
    const appB = await createApp(loadConfig(env));
    await appB.listen(0, '127.0.0.1');
    b = {
      app: appB,
      url: (await appB.getUrl()).replace('[::1]', '127.0.0.1'),
      close: async () => {
        await appB.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    // One process, two apps: passport's 'jwt' strategy is global and B's (created last) would authenticate
    // A's requests too. Each request below is authenticated by the instance it goes to (see the helper).
    authenticateWith(a.app);
    ({ admin, user } = await teamMatrix(a));
    const agent = await a
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'Shared', provider: 'mock', model: 'mock-1', config: { mockDeltas: 60, mockDelayMs: 15 } })
      .expect(201);
    chatId = (await a.http().post('/api/chats').set(user.bearer).send({ agentId: agent.body.id }).expect(201)).body.id;
    void randomBytes;
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('starts a reply on one instance and resumes it exactly on the other', async () => {
    authenticateWith(a.app);
    const first = await readSse(`${a.url}/api/chats/${chatId}/messages`, {
      method: 'POST',
      headers: user.bearer,
      body: { content: 'cross instance' },
      maxEvents: 7,
    });
    const messageId = (first.events[0].data.data as { assistantMessageId: string }).assistantMessageId;
    authenticateWith(b.app);
    const rest = await readSse(`${b.url}/api/chats/${chatId}/messages/${messageId}/stream`, {
      headers: { ...user.bearer, 'Last-Event-ID': first.events[first.events.length - 1].id as string },
    });
    expect(rest.ended).toBe(true);
    expect(rest.events[rest.events.length - 1].event).toBe('done');
    authenticateWith(a.app);
    const chat = await a.http().get(`/api/chats/${chatId}/tree`).set(user.bearer).expect(200);
    const stored = chat.body.items.find((m: { id: string }) => m.id === messageId);
    expect(contentOf([...first.events, ...rest.events])).toBe(stored.content);
  });

  it('cancels on one instance a reply generated on the other', async () => {
    authenticateWith(a.app);
    const started = await a
      .http()
      .post(`/api/chats/${chatId}/messages`)
      .set(user.bearer)
      .set('Accept', 'application/json')
      .send({ content: 'cancel me elsewhere' })
      .expect(202);
    authenticateWith(b.app); // the POST above was authenticated by A: everything below goes to B
    const follower = readSse(`${b.url}${started.body.streamUrl}`, { headers: user.bearer });
    await readSse(`${b.url}${started.body.streamUrl}`, { headers: user.bearer, maxEvents: 4 });
    const res = await fetch(`${b.url}/api/chats/${chatId}/messages/${started.body.assistantMessage.id}/cancel`, {
      method: 'POST',
      headers: user.bearer,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; content: string };
    expect(body.status).toBe('cancelled');
    const followed = await follower;
    expect(followed.events[followed.events.length - 1].data.data).toEqual(
      expect.objectContaining({ status: 'cancelled' }),
    );
    expect(contentOf(followed.events)).toBe(body.content);
  });
});

if (!shared) {
  it(`two-instance resume and cancel: skipped (${SKIP_REASON})`, () => {
    expect(shared).toBe(false);
  });
}
