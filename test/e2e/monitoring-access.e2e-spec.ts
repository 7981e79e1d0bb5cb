import { Controller, Get, Module } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { StreamLog } from 'src/streaming/stream-log';
import { ErrorLogService } from 'src/monitoring/error-log.service';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { createTestApp, TestApp } from 'test/utils/test-app';

/** An authenticated route that fails like a database driver would (internals that must never leak). */
@Controller('test-monitoring')
class FailingProbeController {
  @Get('boom')
  boom(): never {
    throw new Error('relation "secret_table" does not exist: SELECT password FROM secret_table');
  }
}

@Module({ controllers: [FailingProbeController] })
class FailingProbeModule {}

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface AuditItem {
  id: string;
  action: string;
  userId: string | null;
  correlationId: string | null;
  metadata: Record<string, unknown>;
  createdAt: string;
}

/** Audit rows are written after the response: poll the API until `ok` holds (at most ~5 s). */
async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 100 && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 50));
    v = await read();
  }
  return v;
}

describe('Monitoring: admin routes, team scoping', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session;
  let outsider: Session;
  const subs: Subscription[] = [];

  beforeAll(async () => {
    t = await createTestApp({ imports: [FailingProbeModule], env: { AUTH_LOCKOUT_STEPS: '3:60,10:900' } });
    ({ admin, user, outsider } = await teamMatrix(t));
  });
  afterAll(async () => {
    subs.forEach((s) => s.unsubscribe());
    await t?.close();
  });

  const audit = (s: Session, query = '') => t.http().get(`/api/audit-logs${query}`).set(s.bearer);

  describe('access', () => {
    const routes = [
      '/api/monitoring/connections',
      '/api/monitoring/errors',
      '/api/audit-logs',
      '/api/monitoring/stream',
    ];

    it('answers 401 without a token', async () => {
      for (const r of routes) await t.http().get(r).expect(401);
    });

    it('answers 403 FORBIDDEN to a team member who is not an admin', async () => {
      for (const r of routes) {
        const res = await t.http().get(r).set(user.bearer).expect(403);
        expect(res.body.error).toBe('FORBIDDEN');
      }
    });
  });

  describe('GET /api/monitoring/connections', () => {
    it("shows the caller's team streams only, plus process-wide figures", async () => {
      const log = t.app.get(StreamLog);
      const ours = `chat:${admin.teamId}:00000000-0000-4000-8000-00000000000a:00000000-0000-4000-8000-00000000000b`;
      const theirs = `research:${outsider.teamId}:00000000-0000-4000-8000-00000000000c`;
      await log.open(ours);
      await log.open(theirs);
      subs.push(log.follow(ours, null).subscribe({ error: () => undefined }));
      subs.push(log.follow(ours, null).subscribe({ error: () => undefined }));
      subs.push(log.follow(theirs, null).subscribe({ error: () => undefined }));

      const res = await t.http().get('/api/monitoring/connections').set(admin.bearer).expect(200);
      expect(res.body.team).toEqual({
        teamId: admin.teamId,
        streams: 1,
        subscribers: 2,
        byStream: [{ key: ours, kind: 'chat', subscribers: 2 }],
      });
      expect(res.body.process).toEqual(
        expect.objectContaining({
          subscribers: expect.any(Number),
          queuedEvents: expect.any(Number),
          maxQueueDepth: expect.any(Number),
          droppedSlowConsumers: expect.any(Number),
          draining: false,
          streamLog: expect.objectContaining({
            backend: expect.stringMatching(/^(memory|redis)$/),
            streamsHeld: expect.any(Number),
          }),
          memory: expect.objectContaining({ rssBytes: expect.any(Number), heapUsedBytes: expect.any(Number) }),
        }),
      );
      expect(res.body.process.subscribers).toBeGreaterThanOrEqual(3);

      const other = await t.http().get('/api/monitoring/connections').set(outsider.bearer).expect(200);
      expect(other.body.team.byStream).toEqual([{ key: theirs, kind: 'research', subscribers: 1 }]);
      expect(JSON.stringify(other.body)).not.toContain(admin.teamId);
    });
  });

  describe('GET /api/monitoring/stream', () => {
    it('streams connections events as SSE to an admin', async () => {
      const res = await fetch(`${t.url}/api/monitoring/stream`, {
        headers: { ...admin.bearer, Accept: 'text/event-stream' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes('\n\n') || !text.includes('event: connections')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
      }
      await reader.cancel();
      expect(text).toMatch(/^retry: 3000$/m);
      expect(text).toMatch(/^id: 1$/m);
      const data = JSON.parse(/^data: (.*)$/m.exec(text)![1]);
      expect(data.type).toBe('connections');
      expect(data.data.team.teamId).toBe(admin.teamId);
    });
  });

  describe('GET /api/monitoring/errors', () => {
    it("records a 5xx of an authenticated request with its correlation id, for the caller's team only, without internals", async () => {
      await t.http().get('/test-monitoring/boom').set(user.bearer).set('X-Correlation-Id', 'mon-boom-1').expect(500);
      const res = await eventually(
        () => t.http().get('/api/monitoring/errors').set(admin.bearer).expect(200),
        (r) => r.body.items.some((e: { correlationId: string }) => e.correlationId === 'mon-boom-1'),
      );
      const entry = res.body.items.find((e: { correlationId: string }) => e.correlationId === 'mon-boom-1');
      expect(entry).toEqual(
        expect.objectContaining({
          source: 'http',
          code: 'INTERNAL',
          statusCode: 500,
          userId: user.userId,
          message: 'Internal server error',
          metadata: expect.objectContaining({ method: 'GET', route: '/test-monitoring/boom', errorName: 'Error' }),
        }),
      );
      expect(JSON.stringify(res.body)).not.toMatch(/secret_table|SELECT/);

      const other = await t.http().get('/api/monitoring/errors').set(outsider.bearer).expect(200);
      expect(other.body.items.some((e: { correlationId: string }) => e.correlationId === 'mon-boom-1')).toBe(false);
    });

    it('shows upstream failures recorded by other modules, filterable by source and code, paginated', async () => {
      const errors = t.app.get(ErrorLogService);
      for (let i = 0; i < 3; i++) {
        errors.record({
          teamId: admin.teamId,
          userId: admin.userId,
          source: 'llm',
          code: 'UPSTREAM_TIMEOUT',
          message: `timeout ${i}`,
          correlationId: `llm-${i}`,
        });
      }
      errors.record({
        teamId: outsider.teamId,
        source: 'llm',
        code: 'UPSTREAM_TIMEOUT',
        message: 'theirs',
        correlationId: 'llm-theirs',
      });
      await errors.flush();

      const first = await t
        .http()
        .get('/api/monitoring/errors?source=llm&code=UPSTREAM_TIMEOUT&limit=2')
        .set(admin.bearer)
        .expect(200);
      expect(first.body.items).toHaveLength(2);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await t
        .http()
        .get(`/api/monitoring/errors?source=llm&limit=2&cursor=${first.body.nextCursor}`)
        .set(admin.bearer)
        .expect(200);
      const all = [...first.body.items, ...second.body.items].map((e: { correlationId: string }) => e.correlationId);
      expect(all.sort()).toEqual(['llm-0', 'llm-1', 'llm-2']);
      expect(second.body.nextCursor).toBeNull();
    });

    it('answers 400 INVALID_CURSOR to a bad cursor and VALIDATION_FAILED to a bad date', async () => {
      const bad = await t.http().get('/api/monitoring/errors?cursor=not-a-cursor').set(admin.bearer).expect(400);
      expect(bad.body.error).toBe('INVALID_CURSOR');
      expect(
        (await t.http().get('/api/monitoring/errors?from=yesterday').set(admin.bearer).expect(400)).body.error,
      ).toBe('VALIDATION_FAILED');
      await t.http().get('/api/monitoring/errors?from=yesterday').set(admin.bearer).expect(400);
      await t.http().get('/api/monitoring/errors?limit=101').set(admin.bearer).expect(400);
    });
  });

  describe('GET /api/audit-logs', () => {
    it('shows logins and failed logins of the team, filterable by action and user', async () => {
      await t
        .http()
        .post('/api/auth/login')
        .send({ email: user.email, password: 'Wrong-password-123!', team: admin.teamSlug })
        .expect(401);

      const failed = await eventually(
        () => audit(admin, '?action=auth.login_failed').expect(200),
        (r) => r.body.items.length > 0,
      );
      expect(failed.body.items.every((i: AuditItem) => i.action === 'auth.login_failed')).toBe(true);
      expect(failed.body.items[0]).toEqual(
        expect.objectContaining({ userId: user.userId, metadata: expect.objectContaining({ reason: 'bad_password' }) }),
      );

      const logins = await eventually(
        () => audit(admin, `?action=auth.login&userId=${user.userId}`).expect(200),
        (r) => r.body.items.length > 0,
      );
      expect(logins.body.items.every((i: AuditItem) => i.action === 'auth.login' && i.userId === user.userId)).toBe(
        true,
      );
    });

    it('records a lock-out after repeated failed logins', async () => {
      for (let i = 0; i < 3; i++) {
        await t
          .http()
          .post('/api/auth/login')
          .send({ email: admin.email, password: `Wrong-password-${i}!`, team: admin.teamSlug });
      }
      const locks = await eventually(
        () => audit(admin, '?action=auth.lockout').expect(200),
        (r) => r.body.items.length > 0,
      );
      expect(locks.body.items[0].action).toBe('auth.lockout');
    });

    it('records refresh-token reuse', async () => {
      await t.http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
      await t.http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);
      const reuse = await eventually(
        () => audit(admin, '?action=auth.refresh_reuse').expect(200),
        (r) => r.body.items.length > 0,
      );
      expect(reuse.body.items[0]).toEqual(
        expect.objectContaining({ action: 'auth.refresh_reuse', userId: user.userId }),
      );
    });

    it('records agent changes', async () => {
      const created = await t
        .http()
        .post('/api/agents')
        .set(admin.bearer)
        .send({ name: 'Audited', provider: 'mock' })
        .expect(201);
      await t.http().patch(`/api/agents/${created.body.id}`).set(admin.bearer).send({ name: 'Audited 2' }).expect(200);
      await t.http().delete(`/api/agents/${created.body.id}`).set(admin.bearer).expect(204);
      for (const action of ['agent.create', 'agent.update', 'agent.delete']) {
        const res = await eventually(
          () => audit(admin, `?action=${action}`).expect(200),
          (r) => r.body.items.some((i: AuditItem) => i.metadata.agentId === created.body.id),
        );
        expect(
          res.body.items.some((i: AuditItem) => i.metadata.agentId === created.body.id && i.userId === admin.userId),
        ).toBe(true);
      }
    });

    it('filters by time range and paginates with a cursor', async () => {
      const future = new Date(Date.now() + 3600_000).toISOString();
      const none = await audit(admin, `?from=${encodeURIComponent(future)}`).expect(200);
      expect(none.body).toEqual({ items: [], nextCursor: null });
      const past = await audit(admin, `?to=${encodeURIComponent('2000-01-01T00:00:00Z')}`).expect(200);
      expect(past.body.items).toEqual([]);

      const seen = new Set<string>();
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await audit(admin, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
        const page = res.body as Page<AuditItem>;
        expect(page.items.length).toBeLessThanOrEqual(2);
        for (const i of page.items) {
          expect(seen.has(i.id)).toBe(false);
          seen.add(i.id);
        }
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 100);
      expect(pages).toBeGreaterThan(1);
      const everything = await audit(admin, '?limit=100').expect(200);
      expect(seen.size).toBe(everything.body.items.length);
    });

    it("never shows another team's rows", async () => {
      const ours = await audit(admin, '?limit=100').expect(200);
      const ourIds = new Set(ours.body.items.map((i: AuditItem) => i.id));
      const theirs = await audit(outsider, '?limit=100').expect(200);
      expect(theirs.body.items.length).toBeGreaterThan(0); // their own registration and login
      for (const i of theirs.body.items as AuditItem[]) {
        expect(ourIds.has(i.id)).toBe(false);
        expect([admin.userId, user.userId]).not.toContain(i.userId);
      }
      const filtered = await audit(outsider, `?userId=${user.userId}`).expect(200);
      expect(filtered.body.items).toEqual([]);
    });
  });
});
