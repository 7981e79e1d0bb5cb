import { randomBytes, scryptSync } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuthService } from 'src/auth/auth.service';
import { PasswordHasher, SCRYPT_PARAMS, parseScryptHash } from 'src/auth/password-hasher.service';
import { UserRepository } from 'src/teams/user.repository';
import { registerTeam, Session } from 'test/factories/auth.factory';
import { withTestApp } from 'test/utils/test-app';

const b64 = (buf: Buffer) => buf.toString('base64').replace(/=+$/, '');

/** A hash in the module's PHC format made directly with node:crypto and older (cheaper) parameters. */
function oldHash(password: string, ln = 10, r = 8, p = 1): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N: 2 ** ln, r, p, maxmem: 128 * r * (2 ** ln + p + 2) });
  return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
}

/** Resolves after `ms`. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Password rehash on login (real app, real database, real scrypt)', () => {
  let ds: DataSource;
  let hasher: PasswordHasher;
  let auth: AuthService;

  const row = async (userId: string): Promise<{ hash: string }> => {
    const [r] = await ds.query(`SELECT password_hash FROM users WHERE id = $1`, [userId]);
    return { hash: r.password_hash };
  };
  const setHash = (userId: string, hash: string) =>
    ds.query(`UPDATE users SET password_hash = $1 WHERE id = $2`, [hash, userId]);
  const loginReq = (s: Session, password: string) =>
    t.http().post('/api/auth/login').send({ email: s.email, password, team: s.teamSlug });

  /** Polls the stored hash until it differs from `from` (bounded wait), as a client of the database would see it. */
  async function waitForHashChange(userId: string, from: string, timeoutMs = 15000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { hash } = await row(userId);
      if (hash !== from) return hash;
      if (Date.now() > deadline) throw new Error(`stored hash still unchanged after ${timeoutMs} ms`);
      await sleep(25);
    }
  }

  const t = withTestApp();
  beforeAll(async () => {
    ds = t.app.get(DataSource);
    hasher = t.app.get(PasswordHasher);
    auth = t.app.get(AuthService);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await auth.settleRehashes();
  });

  it('logs in with a hash made with older parameters, then stores a hash with the current ones that verifies the same password', async () => {
    const s = await registerTeam(t);
    const legacy = oldHash(s.password);
    expect(hasher.needsRehash(legacy)).toBe(true);
    await setHash(s.userId, legacy);

    const res = await loginReq(s, s.password).expect(200);
    expect(res.body.user.id).toBe(s.userId);

    const upgraded = await waitForHashChange(s.userId, legacy);
    expect(parseScryptHash(upgraded)!.params).toEqual(SCRYPT_PARAMS);
    expect(hasher.needsRehash(upgraded)).toBe(false);
    expect(await hasher.verify(upgraded, s.password)).toBe(true);
    expect(await hasher.verify(upgraded, `${s.password}x`)).toBe(false);

    // The upgraded account keeps working, and the next login does not rehash again.
    await loginReq(s, s.password).expect(200);
    await auth.settleRehashes();
    expect((await row(s.userId)).hash).toBe(upgraded);
  });

  it('does not rehash on a wrong password', async () => {
    const s = await registerTeam(t);
    const legacy = oldHash(s.password);
    await setHash(s.userId, legacy);
    const hashSpy = jest.spyOn(hasher, 'hash');

    await loginReq(s, `${s.password}-wrong`).expect(401);
    await auth.settleRehashes();
    await sleep(300); // longer than one scrypt here: a stray background rehash would have landed by now

    expect((await row(s.userId)).hash).toBe(legacy);
    expect(hashSpy).not.toHaveBeenCalled();
  });

  it('does not rewrite a hash that already uses the current parameters', async () => {
    const s = await registerTeam(t);
    const before = await row(s.userId);
    expect(hasher.needsRehash(before.hash)).toBe(false);
    const hashSpy = jest.spyOn(hasher, 'hash');

    await loginReq(s, s.password).expect(200);
    await auth.settleRehashes();
    await sleep(300);

    expect((await row(s.userId)).hash).toBe(before.hash); // (updated_at moves anyway: last_login_at is written)
    expect(hashSpy).not.toHaveBeenCalled();
  });

  it('does not overwrite a hash changed between the login and the store (compare-and-set)', async () => {
    const s = await registerTeam(t);
    const legacy = oldHash(s.password);
    await setHash(s.userId, legacy);

    // Hold the (real) rehash until the password has been changed by "someone else".
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const original = hasher.hash.bind(hasher);
    const hashSpy = jest.spyOn(hasher, 'hash').mockImplementation(async (pw: string) => {
      await gate;
      return original(pw);
    });

    await loginReq(s, s.password).expect(200);
    expect(hashSpy).toHaveBeenCalledTimes(1); // the rehash was started...
    const changed = await original('A-new-password-9f3k'); // not through the gated spy
    await setHash(s.userId, changed);
    release();
    await auth.settleRehashes();

    expect((await row(s.userId)).hash).toBe(changed); // ...but did not overwrite the newer password
    expect(await hasher.verify(changed, 'A-new-password-9f3k')).toBe(true);
  });

  it('never fails the login when the rehash fails: the old hash stays and still works', async () => {
    const s = await registerTeam(t);
    const legacy = oldHash(s.password);
    await setHash(s.userId, legacy);
    const hashSpy = jest.spyOn(hasher, 'hash').mockRejectedValueOnce(new Error('hash pool exploded'));

    await loginReq(s, s.password).expect(200);
    await auth.settleRehashes();
    expect(hashSpy).toHaveBeenCalledTimes(1);
    expect((await row(s.userId)).hash).toBe(legacy);

    hashSpy.mockRestore();
    await loginReq(s, s.password).expect(200); // a later login upgrades it
    expect(hasher.needsRehash(await waitForHashChange(s.userId, legacy))).toBe(false);
  });

  describe('UserRepository.updatePasswordHash', () => {
    it('writes only while the stored hash is the expected one, and only in the given team', async () => {
      const a = await registerTeam(t);
      const b = await registerTeam(t);
      const users = t.app.get(UserRepository);
      const current = (await row(a.userId)).hash;
      const next = oldHash('whatever-password-1');

      expect(await users.updatePasswordHash(a.teamId, a.userId, 'not-the-stored-hash', next)).toBe(false);
      expect((await row(a.userId)).hash).toBe(current);

      expect(await users.updatePasswordHash(b.teamId, a.userId, current, next)).toBe(false); // another team's scope
      expect((await row(a.userId)).hash).toBe(current);

      expect(await users.updatePasswordHash(a.teamId, a.userId, current, next)).toBe(true);
      expect((await row(a.userId)).hash).toBe(next);
      expect(await users.updatePasswordHash(a.teamId, a.userId, current, oldHash('again-password-2'))).toBe(false); // stale expectation
      expect((await row(a.userId)).hash).toBe(next);
    });
  });
});
