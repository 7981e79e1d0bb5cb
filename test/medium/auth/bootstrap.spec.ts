import { DataSource } from 'typeorm';
import { BootstrapService } from 'src/auth/bootstrap.service';
import { login } from 'test/factories/auth.factory';
import { createTestApp, TestApp, withTestApp } from 'test/utils/test-app';

describe('Bootstrap admin on first start', () => {
  let ds: DataSource;
  const email = 'root@bootstrap.test';
  const password = 'Bootstrap-Pass-8c1f2e';

  const t = withTestApp({
    env: { BOOTSTRAP_ADMIN_EMAIL: email, BOOTSTRAP_ADMIN_PASSWORD: password, BOOTSTRAP_TEAM_NAME: 'First Team' },
  });
  beforeAll(async () => {
    ds = t.app.get(DataSource);
  });

  it('creates the default team and its admin, who can log in at once', async () => {
    const teams = await ds.query(`SELECT id, name, slug FROM teams`);
    expect(teams).toEqual([expect.objectContaining({ name: 'First Team', slug: 'first-team' })]);
    const s = await login(t, email, password);
    expect(s.role).toBe('admin');
    expect(s.teamId).toBe(teams[0].id);
  });

  it('does nothing once a team exists (a restart)', async () => {
    await t.app.get(BootstrapService).onApplicationBootstrap();
    expect(await ds.query(`SELECT id FROM teams`)).toHaveLength(1);
    expect(await ds.query(`SELECT id FROM users WHERE email = $1`, [email])).toHaveLength(1);
  });

  it('creates exactly one team when two instances start on an empty database at once', async () => {
    await ds.query(`DELETE FROM teams`);
    const boot = t.app.get(BootstrapService);
    await Promise.all([boot.onApplicationBootstrap(), boot.onApplicationBootstrap(), boot.onApplicationBootstrap()]);
    expect(await ds.query(`SELECT id FROM teams`)).toHaveLength(1);
    expect(await ds.query(`SELECT id FROM users WHERE email = $1 AND role = 'admin'`, [email])).toHaveLength(1);
  });
});

describe('Bootstrap with a generated password', () => {
  let t: TestApp;
  afterAll(() => t?.close());

  it('creates the admin with a generated password (printed once to the log)', async () => {
    t = await createTestApp({
      env: { BOOTSTRAP_ADMIN_EMAIL: 'gen@bootstrap.test', BOOTSTRAP_ADMIN_PASSWORD: undefined },
    });
    const [row] = await t.app
      .get(DataSource)
      .query(
        `SELECT u.role, u.password_hash, t.slug FROM users u JOIN teams t ON t.id = u.team_id WHERE u.email = 'gen@bootstrap.test'`,
      );
    expect(row.role).toBe('admin');
    expect(row.slug).toBe('default');
    expect(row.password_hash).toMatch(/^\$scrypt\$ln=\d+,r=\d+,p=\d+\$/);
  });
});
