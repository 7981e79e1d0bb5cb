import { randomBytes } from 'node:crypto';
import type { Role } from 'src/common/auth-user';
import type { TestApp } from 'test/utils/test-app';

/** A logged-in account. Use `bearer` as supertest headers: `.set(s.bearer)`. */
export interface Session {
  userId: string;
  teamId: string;
  teamSlug: string;
  email: string;
  password: string;
  role: Role;
  accessToken: string;
  /** The refresh token of this login (also sent as the refresh_token cookie). */
  refreshToken: string;
  bearer: { Authorization: string };
}

export interface RegisterTeamOptions {
  teamName?: string;
  email?: string;
  password?: string;
  displayName?: string;
}

const uid = (): string => randomBytes(5).toString('hex');

/** A random email and a password that passes the policy. */
export const uniqueEmail = (prefix = 'user'): string => `${prefix}-${uid()}@example.test`;
export const strongPassword = (): string => `Str0ng-Pass-${uid()}-${uid()}`;

function expectStatus(res: { status: number; body: unknown }, status: number, what: string): void {
  if (res.status !== status)
    throw new Error(`${what}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
}

/** Logs in; `team` is the slug (needed only when the email exists in several teams). */
export async function login(
  t: TestApp,
  email: string,
  password: string,
  team?: string,
): Promise<Omit<Session, 'password' | 'teamSlug'> & { teamSlug?: string }> {
  const res = await t
    .http()
    .post('/api/auth/login')
    .send({ email, password, ...(team ? { team } : {}) });
  expectStatus(res, 200, `login ${email}`);
  const accessToken = res.body.accessToken as string;
  return {
    userId: res.body.user.id,
    teamId: res.body.user.teamId,
    teamSlug: team,
    email: res.body.user.email,
    role: res.body.user.role,
    accessToken,
    refreshToken: res.body.refreshToken,
    bearer: { Authorization: `Bearer ${accessToken}` },
  };
}

/** A new team (unique random name) with its admin, logged in. */
export async function registerTeam(t: TestApp, opts: RegisterTeamOptions = {}): Promise<Session> {
  const email = opts.email ?? uniqueEmail('admin');
  const password = opts.password ?? strongPassword();
  const reg = await t
    .http()
    .post('/api/auth/register')
    .send({
      email,
      password,
      teamName: opts.teamName ?? `Team ${uid()}`,
      ...(opts.displayName ? { displayName: opts.displayName } : {}),
    });
  expectStatus(reg, 201, 'register team');
  const slug = reg.body.team.slug as string;
  const s = await login(t, email, password, slug);
  return { ...s, teamSlug: slug, password };
}

/** Invites a member with `role` into the admin's team (invite → register → login). */
export async function addMember(
  t: TestApp,
  admin: Session,
  role: Role = 'user',
  opts: { email?: string; password?: string } = {},
): Promise<Session> {
  const email = opts.email ?? uniqueEmail(role);
  const password = opts.password ?? strongPassword();
  const invite = await t.http().post('/api/teams/current/invites').set(admin.bearer).send({ role });
  expectStatus(invite, 201, 'create invite');
  const reg = await t.http().post('/api/auth/register').send({ email, password, inviteToken: invite.body.token });
  expectStatus(reg, 201, 'register with invite');
  const s = await login(t, email, password, admin.teamSlug);
  return { ...s, teamSlug: admin.teamSlug, password };
}

/** admin and user of one team, and `outsider`: the admin of ANOTHER team. */
export async function teamMatrix(t: TestApp): Promise<{ admin: Session; user: Session; outsider: Session }> {
  const admin = await registerTeam(t);
  const user = await addMember(t, admin, 'user');
  const outsider = await registerTeam(t);
  return { admin, user, outsider };
}
