import { DataSource } from 'typeorm';
import { AuditService } from 'src/common/audit/audit.service';
import {
  addMember,
  login,
  registerTeam,
  Session,
  strongPassword,
  teamMatrix,
  uniqueEmail,
} from 'test/factories/auth.factory';
import { createTestApp, TestApp } from 'test/utils/test-app';

const MISSING_ID = '00000000-0000-4000-8000-000000000000';

describe('Teams', () => {
  let t: TestApp;
  let admin: Session;
  let user: Session;
  let outsider: Session;

  beforeAll(async () => {
    t = await createTestApp();
    ({ admin, user, outsider } = await teamMatrix(t));
  });
  afterAll(async () => {
    await t?.app.get(AuditService).flush();
    await t?.close();
  });

  describe('cross-team matrix (admin, user, outsider = admin of another team)', () => {
    it('GET /api/teams/current shows each caller their own team only', async () => {
      const a = await t.http().get('/api/teams/current').set(admin.bearer).expect(200);
      expect(a.body).toEqual({
        id: admin.teamId,
        name: expect.any(String),
        slug: admin.teamSlug,
        allowOpenSignup: false,
        createdAt: expect.any(String),
      });
      expect((await t.http().get('/api/teams/current').set(user.bearer).expect(200)).body.id).toBe(admin.teamId);
      expect((await t.http().get('/api/teams/current').set(outsider.bearer).expect(200)).body.id).toBe(outsider.teamId);
    });

    it('PATCH /api/teams/current: admin yes, user 403, outsider changes only their own team', async () => {
      const res = await t
        .http()
        .patch('/api/teams/current')
        .set(admin.bearer)
        .send({ name: 'Renamed by admin' })
        .expect(200);
      expect(res.body.name).toBe('Renamed by admin');
      const denied = await t.http().patch('/api/teams/current').set(user.bearer).send({ name: 'Hijack' }).expect(403);
      expect(denied.body.error).toBe('FORBIDDEN');
      await t.http().patch('/api/teams/current').set(outsider.bearer).send({ name: 'Outsider team' }).expect(200);
      expect((await t.http().get('/api/teams/current').set(admin.bearer)).body.name).toBe('Renamed by admin');
    });

    it('GET members lists our members to admin and user, and never to the outsider', async () => {
      for (const s of [admin, user]) {
        const res = await t.http().get('/api/teams/current/members').set(s.bearer).expect(200);
        const ids = res.body.items.map((m: { id: string }) => m.id);
        expect(ids).toEqual(expect.arrayContaining([admin.userId, user.userId]));
        expect(ids).not.toContain(outsider.userId);
      }
      const theirs = await t.http().get('/api/teams/current/members').set(outsider.bearer).expect(200);
      expect(theirs.body.items.map((m: { id: string }) => m.id)).toEqual([outsider.userId]);
    });

    it('PATCH a member: the outsider gets 404 for our member, the user 403, the admin 200', async () => {
      const byOutsider = await t
        .http()
        .patch(`/api/teams/current/members/${user.userId}`)
        .set(outsider.bearer)
        .send({ isActive: false })
        .expect(404);
      expect(byOutsider.body.error).toBe('NOT_FOUND');
      await t
        .http()
        .patch(`/api/teams/current/members/${admin.userId}`)
        .set(user.bearer)
        .send({ role: 'user' })
        .expect(403);
      await t
        .http()
        .patch(`/api/teams/current/members/${user.userId}`)
        .set(admin.bearer)
        .send({ isActive: true })
        .expect(200);
      await t.http().get('/api/auth/me').set(user.bearer).expect(200);
      await t
        .http()
        .patch(`/api/teams/current/members/${outsider.userId}`)
        .set(admin.bearer)
        .send({ isActive: false })
        .expect(404);
      await t.http().get('/api/auth/me').set(outsider.bearer).expect(200);
    });

    it('POST invites: admin 201, user 403; an outsider invite joins the outsider team', async () => {
      await t.http().post('/api/teams/current/invites').set(user.bearer).send({ role: 'user' }).expect(403);
      const inv = await t
        .http()
        .post('/api/teams/current/invites')
        .set(outsider.bearer)
        .send({ role: 'admin' })
        .expect(201);
      const reg = await t
        .http()
        .post('/api/auth/register')
        .send({ email: uniqueEmail(), password: strongPassword(), inviteToken: inv.body.token })
        .expect(201);
      expect(reg.body.user.teamId).toBe(outsider.teamId);
    });

    it('refuses every teams route without credentials (401)', async () => {
      await t.http().get('/api/teams/current').expect(401);
      await t.http().patch('/api/teams/current').send({ name: 'x' }).expect(401);
      await t.http().get('/api/teams/current/members').expect(401);
      await t.http().patch(`/api/teams/current/members/${user.userId}`).send({ role: 'admin' }).expect(401);
      await t.http().post('/api/teams/current/invites').send({ role: 'user' }).expect(401);
    });
  });

  describe('members', () => {
    it('paginates with an opaque cursor, oldest first, without repeats', async () => {
      const team = await registerTeam(t);
      for (let i = 0; i < 4; i++) await addMember(t, team, 'user');
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: { body: { items: { id: string }[]; nextCursor: string | null } } = await t
          .http()
          .get('/api/teams/current/members')
          .query({ limit: 2, ...(cursor ? { cursor } : {}) })
          .set(team.bearer)
          .expect(200);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.items.map((m: { id: string }) => m.id));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(seen).toHaveLength(5);
      expect(new Set(seen).size).toBe(5);
      expect(seen[0]).toBe(team.userId);
      const item = (await t.http().get('/api/teams/current/members').set(team.bearer)).body.items[0];
      expect(item).toEqual(
        expect.objectContaining({ id: team.userId, role: 'admin', isActive: true, teamId: team.teamId }),
      );
      expect(JSON.stringify(item)).not.toMatch(/hash|scrypt/i);
    });

    it('validates limit and cursor', async () => {
      await t.http().get('/api/teams/current/members?limit=0').set(admin.bearer).expect(400);
      await t.http().get('/api/teams/current/members?limit=101').set(admin.bearer).expect(400);
      expect(
        (await t.http().get('/api/teams/current/members?cursor=garbage').set(admin.bearer).expect(400)).body.error,
      ).toBe('INVALID_CURSOR');
      await t.http().get('/api/teams/current/members?limit=100').set(admin.bearer).expect(200);
    });

    it('answers 404 for an unknown member id and 400 for a malformed one', async () => {
      await t
        .http()
        .patch(`/api/teams/current/members/${MISSING_ID}`)
        .set(admin.bearer)
        .send({ role: 'user' })
        .expect(404);
      await t
        .http()
        .patch('/api/teams/current/members/not-a-uuid')
        .set(admin.bearer)
        .send({ role: 'user' })
        .expect(400);
    });

    it('changes roles: a promoted member can use admin routes', async () => {
      const team = await registerTeam(t);
      const m = await addMember(t, team, 'user');
      await t.http().post('/api/teams/current/invites').set(m.bearer).send({ role: 'user' }).expect(403);
      const res = await t
        .http()
        .patch(`/api/teams/current/members/${m.userId}`)
        .set(team.bearer)
        .send({ role: 'admin' })
        .expect(200);
      expect(res.body.role).toBe('admin');
      await t.http().post('/api/teams/current/invites').set(m.bearer).send({ role: 'user' }).expect(201);
    });
  });

  describe('the last active admin', () => {
    it('cannot be demoted or deactivated (409), but can once another admin exists', async () => {
      const team = await registerTeam(t);
      const demote = await t
        .http()
        .patch(`/api/teams/current/members/${team.userId}`)
        .set(team.bearer)
        .send({ role: 'user' })
        .expect(409);
      expect(demote.body.error).toBe('CONFLICT');
      await t
        .http()
        .patch(`/api/teams/current/members/${team.userId}`)
        .set(team.bearer)
        .send({ isActive: false })
        .expect(409);
      const second = await addMember(t, team, 'admin');
      await t
        .http()
        .patch(`/api/teams/current/members/${team.userId}`)
        .set(second.bearer)
        .send({ role: 'user' })
        .expect(200);
      await t
        .http()
        .patch(`/api/teams/current/members/${second.userId}`)
        .set(second.bearer)
        .send({ isActive: false })
        .expect(409);
    });

    it('does not count an inactive admin', async () => {
      const team = await registerTeam(t);
      const second = await addMember(t, team, 'admin');
      await t
        .http()
        .patch(`/api/teams/current/members/${second.userId}`)
        .set(team.bearer)
        .send({ isActive: false })
        .expect(200);
      await t
        .http()
        .patch(`/api/teams/current/members/${team.userId}`)
        .set(team.bearer)
        .send({ role: 'user' })
        .expect(409);
    });

    it('lets only one of two admins demoting each other at once succeed', async () => {
      const team = await registerTeam(t);
      const second = await addMember(t, team, 'admin');
      const [a, b] = await Promise.all([
        t.http().patch(`/api/teams/current/members/${second.userId}`).set(team.bearer).send({ role: 'user' }),
        t.http().patch(`/api/teams/current/members/${team.userId}`).set(second.bearer).send({ role: 'user' }),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 409].sort());
      const [{ n }] = await t.app
        .get(DataSource)
        .query(`SELECT count(*)::int AS n FROM users WHERE team_id = $1 AND role = 'admin' AND is_active`, [
          team.teamId,
        ]);
      expect(n).toBe(1);
    });
  });

  describe('invites', () => {
    it('returns the token once, joins with the invite role, and works only once', async () => {
      const team = await registerTeam(t);
      const inv = await t
        .http()
        .post('/api/teams/current/invites')
        .set(team.bearer)
        .send({ role: 'admin' })
        .expect(201);
      expect(inv.body).toEqual(
        expect.objectContaining({ token: expect.any(String), expiresAt: expect.any(String), role: 'admin' }),
      );
      const days = (Date.parse(inv.body.expiresAt) - Date.now()) / 86400000;
      expect(days).toBeGreaterThan(6.9);
      expect(days).toBeLessThanOrEqual(7);
      const [row] = await t.app.get(DataSource).query(`SELECT token_hash FROM invites WHERE id = $1`, [inv.body.id]);
      expect(row.token_hash).not.toContain(inv.body.token);
      const reg = await t
        .http()
        .post('/api/auth/register')
        .send({ email: uniqueEmail(), password: strongPassword(), inviteToken: inv.body.token })
        .expect(201);
      expect(reg.body.user).toEqual(expect.objectContaining({ teamId: team.teamId, role: 'admin' }));
      const again = await t
        .http()
        .post('/api/auth/register')
        .send({ email: uniqueEmail(), password: strongPassword(), inviteToken: inv.body.token })
        .expect(400);
      expect(again.body.details.fieldErrors[0].field).toBe('inviteToken');
    });

    it('refuses an expired invite', async () => {
      const team = await registerTeam(t);
      const inv = await t.http().post('/api/teams/current/invites').set(team.bearer).send({ role: 'user' }).expect(201);
      await t.app
        .get(DataSource)
        .query(`UPDATE invites SET expires_at = now() - interval '1 second' WHERE id = $1`, [inv.body.id]);
      await t
        .http()
        .post('/api/auth/register')
        .send({ email: uniqueEmail(), password: strongPassword(), inviteToken: inv.body.token })
        .expect(400);
    });

    it('restricts an invite made for an email to that email', async () => {
      const team = await registerTeam(t);
      const email = uniqueEmail('invited');
      const inv = await t
        .http()
        .post('/api/teams/current/invites')
        .set(team.bearer)
        .send({ role: 'user', email: email.toUpperCase() })
        .expect(201);
      await t
        .http()
        .post('/api/auth/register')
        .send({ email: uniqueEmail(), password: strongPassword(), inviteToken: inv.body.token })
        .expect(400);
      await t
        .http()
        .post('/api/auth/register')
        .send({ email, password: strongPassword(), inviteToken: inv.body.token })
        .expect(201);
    });

    it('keeps an invite usable when the email is already a member (409)', async () => {
      const team = await registerTeam(t);
      const inv = await t.http().post('/api/teams/current/invites').set(team.bearer).send({ role: 'user' }).expect(201);
      await t
        .http()
        .post('/api/auth/register')
        .send({ email: team.email, password: strongPassword(), inviteToken: inv.body.token })
        .expect(409);
      await t
        .http()
        .post('/api/auth/register')
        .send({ email: uniqueEmail(), password: strongPassword(), inviteToken: inv.body.token })
        .expect(201);
    });

    it('validates the invite body', async () => {
      await t.http().post('/api/teams/current/invites').set(admin.bearer).send({ role: 'owner' }).expect(400);
      await t
        .http()
        .post('/api/teams/current/invites')
        .set(admin.bearer)
        .send({ role: 'user', email: 'nope' })
        .expect(400);
    });

    it('lets an invited member log in with the team slug', async () => {
      const m = await addMember(t, admin, 'user');
      expect((await login(t, m.email, m.password, admin.teamSlug)).teamId).toBe(admin.teamId);
    });
  });
});
