import { ErrorLogService } from 'src/monitoring/error-log.service';
import { StreamLog } from 'src/streaming/stream-log';
import { DataSource } from 'typeorm';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { insertRun } from 'test/factories/research.factory';
import { createTestApp, TestApp } from 'test/utils/test-app';

interface Page {
  items: { id?: string }[];
  nextCursor: string | null;
}

/** Every cursor-paginated list route, with the role that may read it. */
const LISTS: { route: string; as: 'admin' | 'user' }[] = [
  { route: '/api/chats', as: 'user' },
  { route: '/api/agents', as: 'user' },
  { route: '/api/teams/current/members', as: 'user' },
  { route: '/api/audit-logs', as: 'admin' },
  { route: '/api/monitoring/errors', as: 'admin' },
  { route: '/api/research/sessions', as: 'user' },
  { route: '/api/research/agent-history', as: 'user' },
];

/** The same cursor with one character of its body changed. */
const tamper = (cursor: string): string => `${cursor[0] === 'A' ? 'B' : 'A'}${cursor.slice(1)}`;

describe('Pagination: one opaque cursor, one INVALID_CURSOR', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session;
  const firstPages = new Map<string, Page>();

  beforeAll(async () => {
    t = await createTestApp();
    ({ admin, user } = await teamMatrix(t));
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'a1', provider: 'mock', model: 'mock-1' })
      .expect(201);
    await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'a2', provider: 'mock', model: 'mock-1' })
      .expect(201);
    for (const title of ['one', 'two'])
      await t.http().post('/api/chats').set(user.bearer).send({ agentId: agent.body.id, title }).expect(201);
    const errors = t.app.get(ErrorLogService);
    for (const message of ['e1', 'e2'])
      errors.record({ teamId: admin.teamId, source: 'http', code: 'INTERNAL', message });
    await errors.flush();
    // Two finished research sessions of the user, each with one agent event.
    for (let i = 0; i < 2; i++) {
      await insertRun(t.app.get(DataSource), t.app.get(StreamLog), {
        user: { id: user.userId, teamId: user.teamId },
        status: 'completed',
        leaseOwner: null,
        leaseInSec: null,
      });
    }
    // Audit rows are written after the response: wait until the team has two.
    for (let i = 0; i < 100; i++) {
      const res = await t.http().get('/api/audit-logs?limit=2').set(admin.bearer);
      if (res.status === 200 && (res.body as Page).nextCursor) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const { route, as } of LISTS) {
      const res = await t
        .http()
        .get(`${route}?limit=1`)
        .set((as === 'admin' ? admin : user).bearer)
        .expect(200);
      firstPages.set(route, res.body as Page);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  const session = (as: 'admin' | 'user') => (as === 'admin' ? admin : user);
  const chatsCursor = () => firstPages.get('/api/chats')?.nextCursor as string;
  const agentsCursor = () => firstPages.get('/api/agents')?.nextCursor as string;

  it.each(LISTS)('$route answers its own nextCursor with the next page', async ({ route, as }) => {
    const first = firstPages.get(route) as Page;
    expect(first.nextCursor).toEqual(expect.any(String));
    const next = await t.http().get(`${route}?limit=1&cursor=${first.nextCursor}`).set(session(as).bearer).expect(200);
    expect((next.body as Page).items).toHaveLength(1);
    expect((next.body as Page).items[0]).not.toEqual(first.items[0]);
  });

  it.each(LISTS)(
    '$route refuses a garbage, tampered, foreign or over-long cursor with 400 INVALID_CURSOR',
    async ({ route, as }) => {
      const foreign = route === '/api/chats' ? agentsCursor() : chatsCursor();
      expect(foreign).toEqual(expect.any(String));
      const own = firstPages.get(route)?.nextCursor as string;
      const bad = ['garbage', 'not.a.cursor', tamper(foreign), foreign, 'A'.repeat(600), tamper(own)];
      for (const cursor of bad) {
        const res = await t.http().get(route).query({ cursor }).set(session(as).bearer);
        expect({ cursor, status: res.status, error: res.body.error }).toEqual({
          cursor,
          status: 400,
          error: 'INVALID_CURSOR',
        });
        expect(res.body.details.fieldErrors).toEqual([{ field: 'cursor', message: expect.any(String) }]);
        expect(res.body.correlationId).toEqual(expect.any(String));
      }
    },
  );
});
