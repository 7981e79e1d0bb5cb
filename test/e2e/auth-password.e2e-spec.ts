import { AuditService } from 'src/common/audit/audit.service';
import { addMember, login, registerTeam, Session, strongPassword } from 'test/factories/auth.factory';
import { createTestApp, TestApp } from 'test/utils/test-app';

interface AuditItem {
  action: string;
  userId: string | null;
  metadata: Record<string, unknown>;
}

/** POST /api/auth/password: the account changes its own password; other sessions end; the team's admins see it. */
describe('Auth: password change', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { AUTH_LOCKOUT_STEPS: '3:60,10:900' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const change = (s: Pick<Session, 'bearer'>, body: Record<string, unknown>) =>
    t.http().post('/api/auth/password').set(s.bearer).send(body);
  const trail = async (admin: Pick<Session, 'bearer'>, action: string): Promise<AuditItem[]> => {
    await t.app.get(AuditService).flush();
    const res = await t.http().get(`/api/audit-logs?action=${action}&limit=100`).set(admin.bearer).expect(200);
    return res.body.items as AuditItem[];
  };

  it('changes the password: the new one logs in, the old one no longer does', async () => {
    const admin = await registerTeam(t);
    const next = strongPassword();
    await change(admin, { currentPassword: admin.password, newPassword: next }).expect(204);
    await t
      .http()
      .post('/api/auth/login')
      .send({ email: admin.email, password: admin.password, team: admin.teamSlug })
      .expect(401);
    await login(t, admin.email, next, admin.teamSlug);
  });

  it('ends every other session of the account at once, and keeps the one that made the change', async () => {
    const admin = await registerTeam(t);
    const other = await login(t, admin.email, admin.password, admin.teamSlug);
    await t.http().get('/api/auth/me').set(other.bearer).expect(200);
    await change(admin, { currentPassword: admin.password, newPassword: strongPassword() }).expect(204);
    // The other session: its access token is refused at once, its refresh token too.
    await t.http().get('/api/auth/me').set(other.bearer).expect(401);
    await t.http().post('/api/auth/refresh').send({ refreshToken: other.refreshToken }).expect(401);
    // The session that changed the password keeps working and can still refresh.
    await t.http().get('/api/auth/me').set(admin.bearer).expect(200);
    await t.http().post('/api/auth/refresh').send({ refreshToken: admin.refreshToken }).expect(200);
  });

  it('refuses a wrong current password with 400 naming currentPassword, and changes nothing', async () => {
    const admin = await registerTeam(t);
    const res = await change(admin, { currentPassword: 'Not-the-password-1', newPassword: strongPassword() }).expect(
      400,
    );
    expect(res.body.error).toBe('VALIDATION_FAILED');
    expect(res.body.details.fieldErrors).toEqual([expect.objectContaining({ field: 'currentPassword' })]);
    await login(t, admin.email, admin.password, admin.teamSlug);
  });

  it('counts wrong current passwords like failed sign-ins: the third locks the account out (429)', async () => {
    const admin = await registerTeam(t);
    await change(admin, { currentPassword: 'Wrong-password-1!', newPassword: strongPassword() }).expect(400);
    await change(admin, { currentPassword: 'Wrong-password-2!', newPassword: strongPassword() }).expect(400);
    const locked = await change(admin, { currentPassword: 'Wrong-password-3!', newPassword: strongPassword() }).expect(
      429,
    );
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    // Locked even with the right current password, as sign-in is.
    await change(admin, { currentPassword: admin.password, newPassword: strongPassword() }).expect(429);
  });

  it.each([
    ['too short', 'Sh0rt!'],
    ['a common password', 'password123'],
    ['one containing the email', 'EMAIL-and-more-2024'],
  ])('refuses a new password that fails the policy (%s) with 400 naming newPassword', async (_what, candidate) => {
    const admin = await registerTeam(t);
    const newPassword = candidate.replace('EMAIL', admin.email.split('@')[0]);
    const res = await change(admin, { currentPassword: admin.password, newPassword }).expect(400);
    expect(res.body.error).toBe('VALIDATION_FAILED');
    expect(res.body.details.fieldErrors.map((e: { field: string }) => e.field)).toContain('newPassword');
    await login(t, admin.email, admin.password, admin.teamSlug);
  });

  it('refuses a new password equal to the current one', async () => {
    const admin = await registerTeam(t);
    const res = await change(admin, { currentPassword: admin.password, newPassword: admin.password }).expect(400);
    expect(res.body.details.fieldErrors).toEqual([expect.objectContaining({ field: 'newPassword' })]);
  });

  it('refuses a missing field with 400 and an anonymous caller with 401', async () => {
    const admin = await registerTeam(t);
    await change(admin, { currentPassword: admin.password }).expect(400);
    await t.http().post('/api/auth/password').send({ currentPassword: 'x', newPassword: strongPassword() }).expect(401);
  });

  it('records auth.password_changed in the team trail only, without any password', async () => {
    const admin = await registerTeam(t);
    const member = await addMember(t, admin, 'user');
    const outsider = await registerTeam(t);
    await login(t, member.email, member.password, admin.teamSlug); // a second session of the member
    const next = strongPassword();
    await change(member, { currentPassword: member.password, newPassword: next }).expect(204);

    const rows = await trail(admin, 'auth.password_changed');
    expect(rows).toEqual([expect.objectContaining({ userId: member.userId, metadata: { sessionsEnded: 1 } })]);
    expect(JSON.stringify(rows)).not.toContain(next);
    expect(JSON.stringify(rows)).not.toContain(member.password);
    // Another team's admin never sees it.
    expect((await trail(outsider, 'auth.password_changed')).filter((r) => r.userId === member.userId)).toEqual([]);
    // A refused change (wrong current password) records no change.
    await change(admin, { currentPassword: 'Wrong-password-9!', newPassword: strongPassword() }).expect(400);
    expect((await trail(admin, 'auth.password_changed')).filter((r) => r.userId === admin.userId)).toEqual([]);
  });
});
