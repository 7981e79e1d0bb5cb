import { randomUUID } from 'node:crypto';
import { AuditService } from 'src/common/audit/audit.service';
import { AppLogger, createPino } from 'src/common/logging/logger';
import { DataSource } from 'typeorm';
import { Session, teamMatrix } from 'test/factories/auth.factory';
import { createTestApp, TestApp } from 'test/utils/test-app';

const GEMINI_KEY = 'AIzaSy-E2E-GEMINI-SECRET-0001';
const OPENAI_KEY = 'sk-e2e-openai-secret-0002';
const N8N_TOKEN = 'n8n-e2e-webhook-token-0003';
const OUTSIDER_KEY = 'sk-e2e-outsider-secret-0004';
const SECRETS = [GEMINI_KEY, OPENAI_KEY, N8N_TOKEN, OUTSIDER_KEY];

const png = (size = 64) => {
  const b = Buffer.alloc(size, 0x11);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  return b;
};

const fieldsOf = (body: { details?: { fieldErrors?: { field: string }[] } }) =>
  (body.details?.fieldErrors ?? []).map((f) => f.field);

describe('Agents API', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session;
  let outsider: Session;
  /** Everything any logger wrote while the suite ran (pino at trace, plus raw stdout/stderr). */
  const logged: string[] = [];
  const writes: jest.SpyInstance[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    // Route every Nest Logger of the app through the real pino setup (redaction included) at trace level.
    t.app.useLogger(new AppLogger(createPino('trace', { write: (line: string) => void logged.push(line) })));
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      writes.push(
        jest.spyOn(stream, 'write').mockImplementation((chunk: unknown, ...rest: unknown[]) => {
          logged.push(String(chunk));
          return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
        }),
      );
    }
    ({ admin, user, outsider } = await teamMatrix(t));
  });
  afterAll(async () => {
    writes.forEach((w) => w.mockRestore());
    await t?.app.get(AuditService).flush(); // the audit middleware writes after the last response
    await t?.close();
  });

  const create = (s: Session, body: Record<string, unknown>) => t.http().post('/api/agents').set(s.bearer).send(body);
  const mock = async (s: Session, body: Record<string, unknown> = {}) =>
    (await create(s, { name: 'm', provider: 'mock', ...body }).expect(201)).body;

  describe('CRUD by an admin', () => {
    it('creates an agent of each provider type', async () => {
      const g = await create(admin, {
        name: 'Gemini',
        provider: 'gemini',
        model: 'gemini-2.5-flash',
        apiKey: GEMINI_KEY,
      }).expect(201);
      expect(g.body).toEqual(
        expect.objectContaining({
          provider: 'gemini',
          model: 'gemini-2.5-flash',
          hasSecret: true,
          isActive: true,
          baseUrl: null,
          avatarUrl: null,
        }),
      );
      const o = await create(admin, {
        name: 'OpenRouter',
        description: 'via proxy',
        provider: 'openai',
        model: 'openai/gpt-4o-mini',
        baseUrl: 'https://openrouter.example.com/api/v1',
        apiKey: OPENAI_KEY,
        systemPrompt: 'You are terse.',
        config: { temperature: 0.2, maxTokens: 512 },
      }).expect(201);
      expect(o.body).toEqual(
        expect.objectContaining({
          baseUrl: 'https://openrouter.example.com/api/v1',
          config: { temperature: 0.2, maxTokens: 512 },
          hasSecret: true,
        }),
      );
      const n = await create(admin, {
        name: 'Flow',
        provider: 'n8n',
        model: 'n8n-flow',
        webhookUrl: 'https://n8n.example.com/webhook/abc',
        webhookToken: N8N_TOKEN,
      }).expect(201);
      expect(n.body).toEqual(
        expect.objectContaining({
          provider: 'n8n',
          webhookUrl: 'https://n8n.example.com/webhook/abc',
          hasSecret: true,
        }),
      );
      const m = await create(admin, { name: 'Mock', provider: 'mock' }).expect(201);
      expect(m.body).toEqual(
        expect.objectContaining({
          provider: 'mock',
          model: 'mock-1',
          hasSecret: false,
          description: '',
          systemPrompt: '',
        }),
      );
      expect(m.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Date(m.body.createdAt).toISOString()).toBe(m.body.createdAt);
    });

    it('PUT replaces the agent (omitted fields back to defaults) and keeps the secret unless sent', async () => {
      const a = (
        await create(admin, { name: 'r', provider: 'openai', model: 'x', description: 'd', apiKey: OPENAI_KEY }).expect(
          201,
        )
      ).body;
      const put = await t
        .http()
        .put(`/api/agents/${a.id}`)
        .set(admin.bearer)
        .send({ name: 'r2', provider: 'openai', model: 'y' })
        .expect(200);
      expect(put.body).toEqual(expect.objectContaining({ name: 'r2', model: 'y', description: '', hasSecret: true }));
      const cleared = await t
        .http()
        .put(`/api/agents/${a.id}`)
        .set(admin.bearer)
        .send({ name: 'r2', provider: 'openai', model: 'y', apiKey: null })
        .expect(200);
      expect(cleared.body.hasSecret).toBe(false);
    });

    it('PATCH merges: only the sent fields change; apiKey null clears the secret', async () => {
      const a = (
        await create(admin, {
          name: 'p',
          provider: 'gemini',
          model: 'g',
          apiKey: GEMINI_KEY,
          config: { temperature: 1 },
        }).expect(201)
      ).body;
      const p = await t
        .http()
        .patch(`/api/agents/${a.id}`)
        .set(admin.bearer)
        .send({ description: 'new', config: { maxTokens: 64 } })
        .expect(200);
      expect(p.body).toEqual(
        expect.objectContaining({
          name: 'p',
          model: 'g',
          description: 'new',
          config: { temperature: 1, maxTokens: 64 },
          hasSecret: true,
        }),
      );
      const c = await t.http().patch(`/api/agents/${a.id}`).set(admin.bearer).send({ apiKey: null }).expect(200);
      expect(c.body.hasSecret).toBe(false);
      expect(new Date(c.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(a.updatedAt).getTime());
    });

    it('DELETE answers 204, then the agent is gone from GET and the list, and agents that fell back to it lose the fallback', async () => {
      const fb = await mock(admin, { name: 'to-delete' });
      const a = await mock(admin, { name: 'keeps', fallbackAgentId: fb.id });
      await t.http().delete(`/api/agents/${fb.id}`).set(admin.bearer).expect(204);
      await t.http().get(`/api/agents/${fb.id}`).set(admin.bearer).expect(404);
      await t.http().delete(`/api/agents/${fb.id}`).set(admin.bearer).expect(404);
      await t.http().patch(`/api/agents/${fb.id}`).set(admin.bearer).send({ name: 'x' }).expect(404);
      const list = await t.http().get('/api/agents?limit=100').set(admin.bearer).expect(200);
      expect(list.body.items.map((x: { id: string }) => x.id)).not.toContain(fb.id);
      expect((await t.http().get(`/api/agents/${a.id}`).set(admin.bearer).expect(200)).body.fallbackAgentId).toBeNull();
      // and it can no longer be chosen as a fallback
      const res = await t
        .http()
        .patch(`/api/agents/${a.id}`)
        .set(admin.bearer)
        .send({ fallbackAgentId: fb.id })
        .expect(400);
      expect(fieldsOf(res.body)).toEqual(['fallbackAgentId']);
    });

    it('lists with cursor pagination, newest first, without overlap', async () => {
      const s = (await teamMatrix(t)).admin;
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push((await mock(s, { name: `page-${i}` })).id);
      const p1 = await t.http().get('/api/agents?limit=2').set(s.bearer).expect(200);
      expect(p1.body.items).toHaveLength(2);
      expect(p1.body.nextCursor).toEqual(expect.any(String));
      const p2 = await t.http().get(`/api/agents?limit=2&cursor=${p1.body.nextCursor}`).set(s.bearer).expect(200);
      const p3 = await t.http().get(`/api/agents?limit=2&cursor=${p2.body.nextCursor}`).set(s.bearer).expect(200);
      expect(p3.body.nextCursor).toBeNull();
      const seen = [...p1.body.items, ...p2.body.items, ...p3.body.items].map((x: { id: string }) => x.id);
      expect(seen).toEqual([...ids].reverse());
      const def = await t.http().get('/api/agents').set(s.bearer).expect(200);
      expect(def.body).toEqual({ items: expect.any(Array), nextCursor: null });
    });

    it('refuses a bad limit or cursor with a field error', async () => {
      expect(fieldsOf((await t.http().get('/api/agents?limit=0').set(admin.bearer).expect(400)).body)).toEqual([
        'limit',
      ]);
      expect(fieldsOf((await t.http().get('/api/agents?limit=101').set(admin.bearer).expect(400)).body)).toEqual([
        'limit',
      ]);
      const badCursor = await t.http().get('/api/agents?cursor=garbage').set(admin.bearer).expect(400);
      expect(fieldsOf(badCursor.body)).toEqual(['cursor']);
      expect(badCursor.body.error).toBe('INVALID_CURSOR');
    });

    it('records agent.create / agent.update / agent.delete / agent.avatar audit events without secrets', async () => {
      const a = (
        await create(admin, { name: 'audited', provider: 'openai', model: 'x', apiKey: OPENAI_KEY }).expect(201)
      ).body;
      await t.http().patch(`/api/agents/${a.id}`).set(admin.bearer).send({ apiKey: OPENAI_KEY }).expect(200);
      await t.http().post(`/api/agents/${a.id}/avatar`).set(admin.bearer).attach('file', png(), 'a.png').expect(200);
      await t.http().delete(`/api/agents/${a.id}`).set(admin.bearer).expect(204);
      const rows = await t.app
        .get(DataSource)
        .query(
          `SELECT action, team_id, user_id, metadata FROM audit_logs WHERE metadata->>'agentId' = $1 ORDER BY created_at`,
          [a.id],
        );
      // Key changes are also security events of their own (agent.secret_change, see docs/reliability.md),
      // written right after their create/update row (possibly in the same millisecond, so counted apart).
      const actions = rows.map((r: { action: string }) => r.action);
      expect(actions.filter((x: string) => x !== 'agent.secret_change')).toEqual([
        'agent.create',
        'agent.update',
        'agent.avatar',
        'agent.delete',
      ]);
      expect(actions.filter((x: string) => x === 'agent.secret_change')).toHaveLength(2);
      for (const r of rows) {
        expect(r.team_id).toBe(admin.teamId);
        expect(r.user_id).toEqual(expect.any(String));
        expect(JSON.stringify(r.metadata)).not.toContain(OPENAI_KEY);
      }
      expect(rows.find((r: { action: string }) => r.action === 'agent.update').metadata).toEqual(
        expect.objectContaining({ fields: ['secret'], secret: 'set' }),
      );
    });
  });

  describe('roles', () => {
    it('lets a user of the team read agents and avatars but answers 403 on every write', async () => {
      const a = await mock(admin, { name: 'readable' });
      await t.http().post(`/api/agents/${a.id}/avatar`).set(admin.bearer).attach('file', png(), 'a.png').expect(200);
      await t.http().get('/api/agents').set(user.bearer).expect(200);
      await t.http().get(`/api/agents/${a.id}`).set(user.bearer).expect(200);
      await t.http().get(`/api/agents/${a.id}/avatar`).set(user.bearer).expect(200);
      await create(user, { name: 'no', provider: 'mock' }).expect(403);
      await t.http().put(`/api/agents/${a.id}`).set(user.bearer).send({ name: 'no', provider: 'mock' }).expect(403);
      await t.http().patch(`/api/agents/${a.id}`).set(user.bearer).send({ name: 'no' }).expect(403);
      await t.http().delete(`/api/agents/${a.id}`).set(user.bearer).expect(403);
      await t.http().post(`/api/agents/${a.id}/avatar`).set(user.bearer).attach('file', png(), 'a.png').expect(403);
      expect((await t.http().get(`/api/agents/${a.id}`).set(admin.bearer).expect(200)).body.name).toBe('readable');
    });

    it('answers 401 without credentials', async () => {
      await t.http().get('/api/agents').expect(401);
      await t.http().post('/api/agents').send({ name: 'x', provider: 'mock' }).expect(401);
    });
  });

  describe('validation names the field', () => {
    const expectFields = async (body: Record<string, unknown>, fields: string[]) => {
      const res = await create(admin, body).expect(400);
      expect(res.body.error).toBe('VALIDATION_FAILED');
      expect(fieldsOf(res.body)).toEqual(expect.arrayContaining(fields));
      return res;
    };

    it('refuses a bad provider', () => expectFields({ name: 'x', provider: 'claude', model: 'm' }, ['provider']));
    it('refuses bad URLs', async () => {
      await expectFields({ name: 'x', provider: 'openai', model: 'm', baseUrl: 'not a url' }, ['baseUrl']);
      await expectFields({ name: 'x', provider: 'openai', model: 'm', baseUrl: 'ftp://files.example.com' }, [
        'baseUrl',
      ]);
      await expectFields({ name: 'x', provider: 'openai', model: 'm', baseUrl: 'http://169.254.169.254/latest' }, [
        'baseUrl',
      ]);
      await expectFields({ name: 'x', provider: 'n8n', model: 'm', webhookUrl: 'javascript:alert(1)' }, ['webhookUrl']);
    });
    it('refuses temperature 3', () =>
      expectFields({ name: 'x', provider: 'mock', config: { temperature: 3 } }, ['config.temperature']));
    it('refuses n8n without webhookUrl', () =>
      expectFields({ name: 'x', provider: 'n8n', model: 'm' }, ['webhookUrl']));
    it('refuses a missing model for gemini/openai', () => expectFields({ name: 'x', provider: 'gemini' }, ['model']));
    it('refuses out-of-range and unknown fields', async () => {
      await expectFields(
        {
          name: '',
          description: 'd'.repeat(1001),
          provider: 'mock',
          systemPrompt: 's'.repeat(20001),
          config: { maxTokens: 200001, bogus: 1 },
          isActive: 'yes',
          extra: true,
        },
        ['name', 'description', 'systemPrompt', 'config.maxTokens', 'config.bogus', 'isActive', 'extra'],
      );
      await expectFields({ name: 'x'.repeat(101), provider: 'openai', model: 'm'.repeat(201) }, ['name', 'model']);
      await expectFields({ name: 'x', provider: 'mock', config: 'hot' }, ['config']);
    });
    it('refuses a secret field that does not belong to the provider', async () => {
      await expectFields(
        { name: 'x', provider: 'n8n', model: 'm', webhookUrl: 'https://n8n.example.com/w', apiKey: 'k' },
        ['apiKey'],
      );
      await expectFields({ name: 'x', provider: 'openai', model: 'm', webhookToken: 't' }, ['webhookToken']);
    });

    it("refuses a fallback to another team's agent exactly like a missing one", async () => {
      const theirs = await mock(outsider, { name: 'theirs' });
      const other = await expectFields({ name: 'x', provider: 'mock', fallbackAgentId: theirs.id }, [
        'fallbackAgentId',
      ]);
      const missing = await expectFields({ name: 'x', provider: 'mock', fallbackAgentId: randomUUID() }, [
        'fallbackAgentId',
      ]);
      expect(other.body.details.fieldErrors).toEqual(missing.body.details.fieldErrors);
      expect(other.body.message).toEqual(missing.body.message);
    });

    it('refuses a fallback cycle A→B→A and a fallback to itself', async () => {
      const a = await mock(admin, { name: 'A' });
      const b = await mock(admin, { name: 'B', fallbackAgentId: a.id });
      const cyc = await t
        .http()
        .patch(`/api/agents/${a.id}`)
        .set(admin.bearer)
        .send({ fallbackAgentId: b.id })
        .expect(400);
      expect(fieldsOf(cyc.body)).toEqual(['fallbackAgentId']);
      expect(cyc.body.details.fieldErrors[0].message).toMatch(/cycle/);
      const self = await t
        .http()
        .patch(`/api/agents/${a.id}`)
        .set(admin.bearer)
        .send({ fallbackAgentId: a.id })
        .expect(400);
      expect(fieldsOf(self.body)).toEqual(['fallbackAgentId']);
      const put = await t
        .http()
        .put(`/api/agents/${a.id}`)
        .set(admin.bearer)
        .send({ name: 'A', provider: 'mock', fallbackAgentId: b.id })
        .expect(400);
      expect(fieldsOf(put.body)).toEqual(['fallbackAgentId']);
    });

    it('refuses null for required fields in PATCH', async () => {
      const a = await mock(admin);
      const res = await t
        .http()
        .patch(`/api/agents/${a.id}`)
        .set(admin.bearer)
        .send({ name: null, provider: null, isActive: null })
        .expect(400);
      expect(fieldsOf(res.body)).toEqual(expect.arrayContaining(['name', 'provider', 'isActive']));
    });
  });

  describe('secrets', () => {
    it('never returns a secret from create, get, list, put or patch, and never logs it', async () => {
      const bodies: string[] = [];
      const o = await create(admin, { name: 'sec', provider: 'openai', model: 'm', apiKey: OPENAI_KEY }).expect(201);
      bodies.push(o.text);
      const n = await create(admin, {
        name: 'sec-n8n',
        provider: 'n8n',
        model: 'f',
        webhookUrl: 'https://n8n.example.com/w',
        webhookToken: N8N_TOKEN,
      }).expect(201);
      bodies.push(n.text);
      const g = await create(admin, { name: 'sec-g', provider: 'gemini', model: 'g', apiKey: GEMINI_KEY }).expect(201);
      bodies.push(g.text);
      await create(outsider, { name: 'their-sec', provider: 'openai', model: 'm', apiKey: OUTSIDER_KEY }).expect(201);
      bodies.push((await t.http().get(`/api/agents/${o.body.id}`).set(admin.bearer).expect(200)).text);
      bodies.push((await t.http().get(`/api/agents/${n.body.id}`).set(user.bearer).expect(200)).text);
      bodies.push((await t.http().get('/api/agents?limit=100').set(admin.bearer).expect(200)).text);
      bodies.push((await t.http().get('/api/agents?limit=100').set(outsider.bearer).expect(200)).text);
      bodies.push(
        (
          await t
            .http()
            .put(`/api/agents/${o.body.id}`)
            .set(admin.bearer)
            .send({ name: 'sec', provider: 'openai', model: 'm', apiKey: OPENAI_KEY })
            .expect(200)
        ).text,
      );
      bodies.push(
        (
          await t
            .http()
            .patch(`/api/agents/${n.body.id}`)
            .set(admin.bearer)
            .send({ webhookToken: N8N_TOKEN })
            .expect(200)
        ).text,
      );
      bodies.push(
        (
          await t
            .http()
            .patch(`/api/agents/${g.body.id}`)
            .set(admin.bearer)
            .send({ apiKey: GEMINI_KEY, provider: 'bogus' })
            .expect(400)
        ).text,
      );
      for (const body of bodies) {
        for (const s of SECRETS) expect(body).not.toContain(s);
        expect(body).not.toMatch(/"apiKey"|"webhookToken"|"secret"|secretEnc|v1:k1:/);
      }
      expect(JSON.parse(bodies[0]).hasSecret).toBe(true);
      expect(logged.join('\n')).toContain('agent created'); // the capture works
    });

    it('stores ciphertext, not the plaintext, in the database', async () => {
      const o = (await create(admin, { name: 'db', provider: 'openai', model: 'm', apiKey: OPENAI_KEY }).expect(201))
        .body;
      const [row] = await t.app.get(DataSource).query(`SELECT secret_enc FROM agents WHERE id = $1`, [o.id]);
      expect(row.secret_enc).toMatch(/^v1:k1:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/);
      expect(row.secret_enc).not.toContain(OPENAI_KEY);
      expect(Buffer.from(row.secret_enc.split(':')[4], 'base64url').toString('latin1')).not.toContain(OPENAI_KEY);
    });
  });

  describe('cross-team isolation', () => {
    it('answers 404 to an outsider on every route of our agent and never lists it', async () => {
      const a = await mock(admin, { name: 'ours' });
      await t.http().post(`/api/agents/${a.id}/avatar`).set(admin.bearer).attach('file', png(), 'a.png').expect(200);
      const missing = await t.http().get(`/api/agents/${randomUUID()}`).set(outsider.bearer).expect(404);

      const responses = [
        await t.http().get(`/api/agents/${a.id}`).set(outsider.bearer),
        await t.http().put(`/api/agents/${a.id}`).set(outsider.bearer).send({ name: 'x', provider: 'mock' }),
        await t.http().patch(`/api/agents/${a.id}`).set(outsider.bearer).send({ name: 'x' }),
        await t.http().delete(`/api/agents/${a.id}`).set(outsider.bearer),
        await t.http().post(`/api/agents/${a.id}/avatar`).set(outsider.bearer).attach('file', png(), 'a.png'),
        await t.http().get(`/api/agents/${a.id}/avatar`).set(outsider.bearer),
      ];
      for (const res of responses) {
        expect(res.status).toBe(404);
        expect(res.body.error).toBe('NOT_FOUND');
        expect(res.body.message).toBe(missing.body.message);
      }
      const list = await t.http().get('/api/agents?limit=100').set(outsider.bearer).expect(200);
      expect(list.body.items.map((x: { id: string }) => x.id)).not.toContain(a.id);
      const still = await t.http().get(`/api/agents/${a.id}`).set(admin.bearer).expect(200);
      expect(still.body.name).toBe('ours');
    });

    it("never shows another team's agents in our list", async () => {
      const theirs = await mock(outsider, { name: 'theirs-only' });
      for (const s of [admin, user]) {
        const list = await t.http().get('/api/agents?limit=100').set(s.bearer).expect(200);
        expect(list.body.items.map((x: { id: string }) => x.id)).not.toContain(theirs.id);
      }
      await t.http().get(`/api/agents/${theirs.id}`).set(user.bearer).expect(404);
    });
  });

  // Last on purpose: covers every request of the suite (creates, updates, failures, avatars, other teams).
  it('wrote no secret to any log line or audit row during the whole suite', async () => {
    const all = logged.join('\n');
    expect(all).toContain('agent updated');
    for (const s of SECRETS) expect(all).not.toContain(s);
    const audit = JSON.stringify(await t.app.get(DataSource).query(`SELECT * FROM audit_logs`));
    expect(audit).toContain('agent.update');
    for (const s of SECRETS) expect(audit).not.toContain(s);
  });
});
