import { runAdmin } from 'src/auth/admin-commands';
import { registerTeam } from 'test/factories/auth.factory';
import { baseTestEnv, withTestApp } from 'test/utils/test-app';

/** `npm run admin -- reset-password <email>` against the app's database, with the app running. */
describe('admin reset-password', () => {
  const t = withTestApp();

  const run = async (...args: string[]) => {
    const lines: string[] = [];
    await runAdmin(args, (l) => lines.push(l), { ...baseTestEnv(t.config.dataDir), DATABASE_URL: t.config.db.url });
    return lines.join('\n');
  };

  it('sets a new password that logs in, the old one no longer does, the team and its data stay', async () => {
    const s = await registerTeam(t);
    const out = await run('reset-password', s.email.toUpperCase());
    const password = /: (\S+)$/m.exec(out.split('\n')[0])![1];
    expect(out).toContain(`team: ${s.teamSlug}`);
    await t.http().post('/api/auth/login').send({ email: s.email, password: s.password }).expect(401);
    const ok = await t.http().post('/api/auth/login').send({ email: s.email, password }).expect(200);
    expect(ok.body.user.id).toBe(s.userId);
    // The refresh token issued before the reset is revoked.
    await t.http().post('/api/auth/refresh').send({ refreshToken: s.refreshToken }).expect(401);
    const team = await t
      .http()
      .get('/api/teams/current')
      .set({ Authorization: `Bearer ${ok.body.accessToken}` })
      .expect(200);
    expect(team.body.slug).toBe(s.teamSlug);
    // The team's admin (here the account itself) sees the reset in the audit trail, without the password.
    const trail = await t
      .http()
      .get('/api/audit-logs?action=auth.password_reset')
      .set({ Authorization: `Bearer ${ok.body.accessToken}` })
      .expect(200);
    expect(trail.body.items).toEqual([
      expect.objectContaining({ action: 'auth.password_reset', userId: s.userId, metadata: { via: 'admin-command' } }),
    ]);
    expect(JSON.stringify(trail.body)).not.toContain(password);
  });

  it('refuses an unknown email and asks for --team when the email is in several teams', async () => {
    await expect(run('reset-password', 'nobody@example.test')).rejects.toThrow(/no account nobody@example\.test/);
    const a = await registerTeam(t, { email: 'twice@example.test' });
    await registerTeam(t, { email: 'twice@example.test' });
    await expect(run('reset-password', 'twice@example.test')).rejects.toThrow(/several teams .*--team <slug>/);
    expect(await run('reset-password', 'twice@example.test', '--team', a.teamSlug)).toContain(`team: ${a.teamSlug}`);
    await expect(run('reset-password')).rejects.toThrow(/usage: npm run admin -- reset-password/);
  });
});
