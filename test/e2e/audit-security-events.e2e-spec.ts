import { AuditService } from 'src/common/audit/audit.service';
import { login, registerTeam, Session, strongPassword, uniqueEmail } from 'test/factories/auth.factory';
import { withTestApp } from 'test/utils/test-app';

interface AuditItem {
  action: string;
  userId: string | null;
  metadata: Record<string, unknown>;
}

/**
 * Security events in each team's audit trail (GET /api/audit-logs, admins): logins (success and failure),
 * logouts, refresh-token reuse, lock-outs and key changes. Events are read through the API, as an admin does.
 */
describe('Audit trail: security events for the team admins', () => {
  const t = withTestApp({ env: { AUTH_LOCKOUT_STEPS: '3:60,10:900' } });

  /** Every row of the admin's trail with this action (newest first), after the writes in flight. */
  const trail = async (admin: Pick<Session, 'bearer'>, action: string): Promise<AuditItem[]> => {
    await t.app.get(AuditService).flush();
    const res = await t.http().get(`/api/audit-logs?action=${action}&limit=100`).set(admin.bearer).expect(200);
    return res.body.items as AuditItem[];
  };

  it('lists a login in the unfiltered trail', async () => {
    const admin = await registerTeam(t);
    await t.app.get(AuditService).flush();
    const res = await t.http().get('/api/audit-logs').set(admin.bearer).expect(200);
    expect(res.body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ action: 'auth.login', userId: admin.userId })]),
    );
  });

  it('records a failed login in every team where the email has an account, and a lock-out in each', async () => {
    const email = uniqueEmail('multi');
    const a = await registerTeam(t, { email, password: strongPassword() });
    const b = await registerTeam(t, { email, password: strongPassword() });
    for (let i = 0; i < 3; i++)
      await t
        .http()
        .post('/api/auth/login')
        .send({ email, password: `Wrong-password-${i}!` });

    for (const admin of [a, b]) {
      const failed = await trail(admin, 'auth.login_failed');
      expect(failed).toHaveLength(3);
      expect(failed.every((r) => r.userId === admin.userId && r.metadata.reason === 'bad_password')).toBe(true);
      const locks = await trail(admin, 'auth.lockout');
      expect(locks).toEqual([
        expect.objectContaining({
          userId: admin.userId,
          metadata: expect.objectContaining({ scope: 'account', failures: 3 }),
        }),
      ]);
    }
  });

  it('keeps a failed login for an unknown email out of every team trail', async () => {
    const admin = await registerTeam(t);
    const ghost = uniqueEmail('ghost');
    await t.http().post('/api/auth/login').send({ email: ghost, password: 'Wrong-password-1!' }).expect(401);
    expect((await trail(admin, 'auth.login_failed')).filter((r) => r.metadata.email === ghost)).toEqual([]);
  });

  it('records logouts and refresh-token reuse', async () => {
    const admin = await registerTeam(t);
    const second = await login(t, admin.email, admin.password);
    await t.http().post('/api/auth/logout').set(second.bearer).expect(204);
    await t.http().post('/api/auth/refresh').send({ refreshToken: admin.refreshToken }).expect(200);
    await t.http().post('/api/auth/refresh').send({ refreshToken: admin.refreshToken }).expect(401);
    const fresh = await login(t, admin.email, admin.password);

    expect(await trail(fresh, 'auth.logout')).toEqual([expect.objectContaining({ userId: admin.userId })]);
    expect(await trail(fresh, 'auth.refresh_reuse')).toEqual([expect.objectContaining({ userId: admin.userId })]);
  });

  it('records agent key changes (set, replaced, cleared) without the key, only for the agent team', async () => {
    const admin = await registerTeam(t);
    const outsider = await registerTeam(t);
    const key = 'sk-test-0123456789abcdef';
    const agent = await t
      .http()
      .post('/api/agents')
      .set(admin.bearer)
      .send({ name: 'k', provider: 'openai', model: 'm', apiKey: key })
      .expect(201);
    await t
      .http()
      .patch(`/api/agents/${agent.body.id}`)
      .set(admin.bearer)
      .send({ apiKey: `${key}-2` })
      .expect(200);
    await t
      .http()
      .patch(`/api/agents/${agent.body.id}`)
      .set(admin.bearer)
      .send({ description: 'no key change' })
      .expect(200);
    await t.http().patch(`/api/agents/${agent.body.id}`).set(admin.bearer).send({ apiKey: null }).expect(200);

    const changes = await trail(admin, 'agent.secret_change');
    expect(changes.map((r) => r.metadata.change)).toEqual(['cleared', 'set', 'set']);
    expect(changes.every((r) => r.userId === admin.userId && r.metadata.agentId === agent.body.id)).toBe(true);
    expect(JSON.stringify(changes)).not.toContain(key);
    expect(await trail(outsider, 'agent.secret_change')).toEqual([]);
  });
});
