import { StreamCursor } from 'src/streaming/stream-cursor';
import { AgentsService } from 'src/agents/agents.service';
import { ChatsService } from 'src/chats/chats.service';
import { GenerationService } from 'src/chats/generation.service';
import { MessagesService } from 'src/chats/messages.service';
import { AuthUser } from 'src/common/auth-user';
import { BehaviorSubject } from 'rxjs';
import { SseFrame } from 'src/common/sse/sse-format';
import { StreamLog } from 'src/streaming/stream-log';
import { SlowConsumerError } from 'src/streaming/streaming.errors';
import { JobRunner } from 'src/jobs/job-runner.service';
import { DataSource } from 'typeorm';
import { allFrames, contentOf, createChat, createMockAgent, fakeUser } from 'test/medium/chats/chat-kit';
import { createTestApp, TestApp, withTestApp } from 'test/utils/test-app';

async function waitFinished(ds: DataSource, id: string): Promise<{ status: string; content: string }> {
  for (let i = 0; i < 400; i++) {
    const [row] = await ds.query(`SELECT status, content FROM messages WHERE id = $1`, [id]);
    if (row.status !== 'streaming') return row;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('message did not finish');
}

describe('Generation engine (medium: real services, real database)', () => {
  let t: TestApp;
  let admin: AuthUser;
  let chats: ChatsService;
  let messages: MessagesService;
  let generation: GenerationService;
  let runner: JobRunner;
  let agents: AgentsService;
  let ds: DataSource;

  beforeAll(async () => {
    // Batches by size only here (interval far away), so the count of writes is deterministic.
    t = await createTestApp({
      env: { CHAT_PERSIST_INTERVAL_MS: '600000', CHAT_PERSIST_CHARS: '100000000', CHAT_LEASE_MS: '60000' },
    });
    chats = t.app.get(ChatsService);
    messages = t.app.get(MessagesService);
    generation = t.app.get(GenerationService);
    runner = t.app.get(JobRunner);
    agents = t.app.get(AgentsService);
    ds = t.app.get(DataSource);
    admin = fakeUser();
  });
  afterAll(() => t?.close());

  it('writes the database a constant number of times per reply whether it has 10 or 1000 deltas', async () => {
    const counts: Record<number, number> = {};
    for (const deltas of [10, 1000]) {
      const agentId = await createMockAgent(agents, admin, { mockDeltas: deltas, mockDelayMs: 0 });
      const chatId = await createChat(chats, admin, agentId);
      const sent = await messages.send(admin, chatId, { content: 'count the writes please' });
      const frames = await allFrames(messages, admin, chatId, sent.assistantMessage.id, null);
      // Deltas that queue up behind an append are coalesced: at most one event per delta.
      const messageEvents = frames.filter((f) => f.type === 'message').length;
      expect(messageEvents).toBeGreaterThan(0);
      expect(messageEvents).toBeLessThanOrEqual(deltas);
      const row = await waitFinished(ds, sent.assistantMessage.id);
      expect(row.content).toBe(contentOf(frames));
      counts[deltas] = generation.dbWrites(sent.assistantMessage.id);
    }
    expect(counts[10]).toBeGreaterThan(0);
    expect(counts[1000]).toBe(counts[10]);
  });

  it('finishes a stale streaming message as INTERRUPTED and keeps its content', async () => {
    const agentId = await createMockAgent(agents, admin);
    const chatId = await createChat(chats, admin, agentId);
    const [row] = await ds.query(
      `INSERT INTO messages (chat_id, team_id, role, content, status, lease_owner, lease_expires_at)
       VALUES ($1, $2, 'assistant', 'half an ans', 'streaming', 'gen-dead', now() - interval '1 minute') RETURNING id`,
      [chatId, admin.teamId],
    );
    expect(await runner.sweep('chat')).toBeGreaterThanOrEqual(1);
    const [after] = await ds.query(`SELECT status, content, error_code FROM messages WHERE id = $1`, [row.id]);
    expect(after).toEqual({ status: 'error', content: 'half an ans', error_code: 'INTERRUPTED' });
    const frames = await allFrames(messages, admin, chatId, row.id, null);
    expect(contentOf(frames)).toBe('half an ans');
    expect(frames[frames.length - 1]).toEqual(
      expect.objectContaining({ type: 'error', data: expect.objectContaining({ code: 'INTERRUPTED' }) }),
    );
  });

  it('recovers the content that reached the log beyond the last batch written to the database', async () => {
    const agentId = await createMockAgent(agents, admin);
    const chatId = await createChat(chats, admin, agentId);
    const [row] = await ds.query(
      `INSERT INTO messages (chat_id, team_id, role, content, status, lease_owner, lease_expires_at)
       VALUES ($1, $2, 'assistant', 'Hello', 'streaming', 'gen-dead', now() - interval '1 minute') RETURNING id`,
      [chatId, admin.teamId],
    );
    const log = t.app.get(StreamLog);
    const key = `chat:${row.id}`;
    await log.append(key, 'status', { description: 'Sending request...' }, 0);
    for (const [offset, content] of [
      [3, 'Hel'],
      [5, 'lo'],
      [11, ' world'],
      [12, '!'],
    ] as const)
      await log.append(key, 'message', { content }, offset);
    const follower = allFrames(messages, admin, chatId, row.id, '5-3');

    expect(await runner.sweep('chat')).toBeGreaterThanOrEqual(1);
    const [after] = await ds.query(`SELECT status, content, error_code, final_event_id FROM messages WHERE id = $1`, [
      row.id,
    ]);
    expect(after).toEqual({
      status: 'error',
      content: 'Hello world!',
      error_code: 'INTERRUPTED',
      final_event_id: '12-6',
    });
    const frames = await follower;
    expect(contentOf(frames)).toBe(' world!');
    expect(frames[frames.length - 1]).toEqual(expect.objectContaining({ id: '12-6', type: 'error' }));
  });

  it('leaves a streaming message whose lease is live alone', async () => {
    const agentId = await createMockAgent(agents, admin);
    const chatId = await createChat(chats, admin, agentId);
    const [row] = await ds.query(
      `INSERT INTO messages (chat_id, team_id, role, content, status, lease_owner, lease_expires_at)
       VALUES ($1, $2, 'assistant', 'still going', 'streaming', 'gen-alive', now() + interval '1 minute') RETURNING id`,
      [chatId, admin.teamId],
    );
    await runner.sweep('chat');
    const [after] = await ds.query(`SELECT status FROM messages WHERE id = $1`, [row.id]);
    expect(after.status).toBe('streaming');
    await ds.query(`DELETE FROM messages WHERE id = $1`, [row.id]);
  });
});

describe('Slow consumers (medium)', () => {
  let admin: AuthUser;

  const t = withTestApp({ env: { SSE_SUBSCRIBER_QUEUE_MAX: '5' } });
  beforeAll(async () => {
    admin = fakeUser();
  });

  it('drops a subscriber that stops reading once its queue is full, with its last id, and it resumes exactly', async () => {
    const chats = t.app.get(ChatsService);
    const messages = t.app.get(MessagesService);
    const agentId = await createMockAgent(t.app.get(AgentsService), admin, { mockDeltas: 60, mockDelayMs: 5 });
    const chatId = await createChat(chats, admin, agentId);
    const sent = await messages.send(admin, chatId, { content: 'a slow reader' });
    const paused = new BehaviorSubject<boolean>(false);
    const frames = (await messages.openStream(admin, chatId, sent.assistantMessage.id, null, { paused }))!;
    const received: SseFrame[] = [];
    const error = await new Promise<unknown>((resolve) => {
      frames.subscribe({
        next: (f) => {
          received.push(f);
          if (received.length === 3) paused.next(true); // the response buffer is full from here on
        },
        error: resolve,
        complete: () => resolve(null),
      });
    });
    expect(error).toBeInstanceOf(SlowConsumerError);
    const lastId = (error as SlowConsumerError).lastId;
    expect(lastId).toBe(received[received.length - 1].id);
    const rest = await allFrames(messages, admin, chatId, sent.assistantMessage.id, lastId);
    const ds = t.app.get(DataSource);
    const row = await waitFinished(ds, sent.assistantMessage.id);
    expect(contentOf(received) + contentOf(rest)).toBe(row.content);
    expect((await t.app.get(StreamLog).stats()).droppedSlowConsumers).toBeGreaterThanOrEqual(1);
  });

  it('follows a reply the log does not hold by polling the database, exactly, until it ends', async () => {
    const chats = t.app.get(ChatsService);
    const messages = t.app.get(MessagesService);
    const ds = t.app.get(DataSource);
    const chatId = await createChat(chats, admin, await createMockAgent(t.app.get(AgentsService), admin));
    // A job on an instance this one cannot see (no shared log): only its database writes are visible.
    const [row] = await ds.query(
      `INSERT INTO messages (chat_id, team_id, role, content, status, lease_owner, lease_expires_at)
       VALUES ($1, $2, 'assistant', 'abc', 'streaming', 'gen-elsewhere', now() + interval '1 minute') RETURNING id`,
      [chatId, admin.teamId],
    );
    const received: SseFrame[] = [];
    const frames = (await messages.openStream(admin, chatId, row.id, StreamCursor.parse('1-2')))!;
    const done = new Promise<void>((resolve, reject) =>
      frames.subscribe({ next: (f) => received.push(f), error: reject, complete: resolve }),
    );
    await new Promise((r) => setTimeout(r, 150));
    expect(contentOf(received)).toBe('bc');
    await ds.query(`UPDATE messages SET content = 'abcdef' WHERE id = $1`, [row.id]);
    await new Promise((r) => setTimeout(r, 700));
    await ds.query(
      `UPDATE messages SET content = 'abcdefgh', status = 'complete', final_event_id = '8-40' WHERE id = $1`,
      [row.id],
    );
    await done;
    expect(contentOf(received)).toBe('bcdefgh');
    expect(received[received.length - 1]).toEqual(expect.objectContaining({ id: '8-40', type: 'done' }));
  });
});
