import { randomBytes } from 'node:crypto';
import { PasswordHasher } from 'src/auth/password-hasher.service';
import { checkPassword } from 'src/auth/password-policy';
import { loadConfig } from 'src/config/env';
import { createDataSource } from 'src/database/data-source';

const USAGE = 'usage: npm run admin -- reset-password <email> [--team <team-slug>]';

/**
 * Operator commands on the configured database (DATABASE_URL, or the embedded PostgreSQL under DATA_DIR; a
 * service running on that DATA_DIR keeps running and its server is used):
 *   reset-password <email> [--team <slug>]   sets a new generated password and prints it; revokes the
 *                                            account's refresh tokens and sessions; writes
 *                                            `auth.password_reset` to the team's audit trail.
 * Built too: `node dist/src/admin.js reset-password <email>` in the production image.
 */
export async function runAdmin(
  args: string[],
  print: (line: string) => void,
  env: Record<string, string | undefined> = process.env,
): Promise<void> {
  const [command, email, ...rest] = args;
  const teamFlag = rest.indexOf('--team');
  const team = teamFlag >= 0 ? rest[teamFlag + 1] : undefined;
  if (command !== 'reset-password' || !email || (teamFlag >= 0 && !team)) throw new Error(USAGE);

  const config = loadConfig(env);
  const ds = await createDataSource(config, { logging: ['error'] }, false, true);
  try {
    const accounts = await ds.query<{ id: string; email: string; slug: string; team_id: string }[]>(
      `SELECT u.id, u.email, t.slug, u.team_id FROM users u JOIN teams t ON t.id = u.team_id
        WHERE lower(u.email) = lower($1) AND ($2::text IS NULL OR t.slug = $2) ORDER BY t.slug`,
      [email, team ?? null],
    );
    if (accounts.length === 0) throw new Error(`no account ${email}${team ? ` in team ${team}` : ''}`);
    if (accounts.length > 1) {
      throw new Error(
        `${email} exists in several teams (${accounts.map((a) => a.slug).join(', ')}): add --team <slug>`,
      );
    }
    const [account] = accounts;
    let password = randomBytes(15).toString('base64url');
    while (checkPassword(password, account.email).length) password = randomBytes(15).toString('base64url');
    const hash = await new PasswordHasher(config).hash(password);
    await ds.transaction(async (em) => {
      await em.query('UPDATE users SET password_hash = $1 WHERE id = $2', [hash, account.id]);
      await em.query('UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [
        account.id,
      ]);
      await em.query(
        `UPDATE refresh_token_families SET revoked_at = now(), revoke_reason = 'password_reset' WHERE user_id = $1 AND revoked_at IS NULL`,
        [account.id],
      );
      // The team's admins see the reset in their audit trail (never the password).
      await em.query(
        `INSERT INTO audit_logs (team_id, user_id, action, metadata) VALUES ($1, $2, 'auth.password_reset', $3)`,
        [account.team_id, account.id, JSON.stringify({ via: 'admin-command' })],
      );
    });
    print(`New password for ${account.email} (team: ${account.slug}): ${password}`);
    print('Existing sessions of this account must log in again once their access token expires.');
  } finally {
    await ds.destroy();
  }
}
