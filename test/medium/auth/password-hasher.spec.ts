import crypto, { randomBytes, scryptSync } from 'node:crypto';
import { PasswordHasher, SCRYPT_PARAMS, parseScryptHash } from 'src/auth/password-hasher.service';
import { AppError } from 'src/common/errors/app-error';
import { loadConfig } from 'src/config/env';

describe('PasswordHasher (real scrypt from node:crypto)', () => {
  const make = (concurrency: number, queue: number) => {
    const config = loadConfig({
      NODE_ENV: 'test',
      JWT_SECRET: 'x'.repeat(40),
      ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
      AUTH_HASH_CONCURRENCY: String(concurrency),
      AUTH_HASH_QUEUE_MAX: String(queue),
      DATA_DIR: '/tmp/unused-hasher',
    });
    return new PasswordHasher(config);
  };
  const b64 = (buf: Buffer) => buf.toString('base64').replace(/=+$/, '');
  /** A hash made outside the service, with the parameters given, as another version of it would have stored. */
  const foreignHash = (password: string, ln: number, r: number, p: number, keyBytes = 32) => {
    const salt = randomBytes(16);
    const key = scryptSync(password, salt, keyBytes, { N: 2 ** ln, r, p, maxmem: 128 * r * (2 ** ln + p + 2) });
    return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
  };

  let h: PasswordHasher;
  let good: string;
  beforeAll(async () => {
    h = make(2, 16);
    good = await h.hash('correct horse battery');
  });

  it('writes a self-describing PHC string with the current OWASP parameters, a 16-byte salt and a 32-byte key', () => {
    const { ln, r, p } = SCRYPT_PARAMS;
    expect(good).toMatch(new RegExp(`^\\$scrypt\\$ln=${ln},r=${r},p=${p}\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}$`));
    const parsed = parseScryptHash(good)!;
    expect(parsed.salt).toHaveLength(16);
    expect(parsed.key).toHaveLength(32);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    expect(await h.verify(good, 'correct horse battery')).toBe(true);
    expect(await h.verify(good, 'wrong horse battery')).toBe(false);
    expect(await h.verify(good, '')).toBe(false);
  });

  it('uses a fresh salt for every hash of the same password', async () => {
    const again = await h.hash('correct horse battery');
    expect(again).not.toBe(good);
    expect(parseScryptHash(again)!.salt.equals(parseScryptHash(good)!.salt)).toBe(false);
    expect(await h.verify(again, 'correct horse battery')).toBe(true);
  });

  it('reads the parameters from the stored string, so hashes made with older or other settings still verify', async () => {
    const older = foreignHash('old password here', 10, 8, 1);
    expect(await h.verify(older, 'old password here')).toBe(true);
    expect(await h.verify(older, 'not the old password')).toBe(false);
    const otherOwasp = foreignHash('other setting', 15, 8, 3, 64);
    expect(await h.verify(otherOwasp, 'other setting')).toBe(true);
  });

  it('fails (does not verify) when the stored parameters are edited, proving they are used', async () => {
    const edited = good.replace(`ln=${SCRYPT_PARAMS.ln}`, `ln=${SCRYPT_PARAMS.ln - 1}`);
    expect(await h.verify(edited, 'correct horse battery')).toBe(false);
  });

  it('needsRehash is false for the current parameters and true for older ones or non-scrypt hashes', () => {
    expect(h.needsRehash(good)).toBe(false);
    expect(h.needsRehash(foreignHash('x', 10, 8, 1))).toBe(true);
    expect(h.needsRehash('$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy')).toBe(true);
  });

  it('does the same work and fails when there is no account (dummy hash)', async () => {
    const scrypt = jest.spyOn(crypto, 'scrypt');
    try {
      expect(await h.verify(undefined, 'anything at all')).toBe(false);
      expect(await h.verify(null, 'anything at all')).toBe(false);
      expect(await h.verify('', 'anything at all')).toBe(false);
      // One derivation per attempt, with the parameters and key size of a real account's hash.
      const { ln, r, p } = SCRYPT_PARAMS;
      expect(scrypt).toHaveBeenCalledTimes(3);
      for (const call of scrypt.mock.calls) {
        expect(call[2]).toBe(32);
        expect(call[3]).toMatchObject({ N: 2 ** ln, r, p });
      }
    } finally {
      scrypt.mockRestore();
    }
  });

  describe('a malformed or absurd stored hash is a failed login, quickly, never a throw', () => {
    const parts = () => good.split('$'); // ['', 'scrypt', 'ln=..,r=..,p=..', salt, key]
    const cases: [string, () => string][] = [
      ['not a hash at all', () => 'not-a-hash'],
      ['a wrong prefix (another PHC algorithm)', () => `$pbkdf2-sha256$i=600000$${parts()[3]}$${parts()[4]}`],
      ['a wrong prefix (scrypt2)', () => good.replace('$scrypt$', '$scrypt2$')],
      ['bad base64 in the salt', () => ['', 'scrypt', parts()[2], '!!!!not*base64!!!!!!!!', parts()[4]].join('$')],
      [
        'bad base64 in the key',
        () => ['', 'scrypt', parts()[2], parts()[3], `${parts()[4].slice(0, 40)}%%%`].join('$'),
      ],
      ['padded base64', () => `${good}=`],
      ['an absurd N (ln=40)', () => good.replace(/ln=\d+/, 'ln=40')],
      ['a huge N as a long number (ln=1000)', () => good.replace(/ln=\d+/, 'ln=1000')],
      ['N beyond the memory bound (ln=20)', () => good.replace(/ln=\d+/, 'ln=20')],
      ['work beyond the bound (ln=16, p=16)', () => good.replace(/ln=\d+,r=\d+,p=\d+/, 'ln=16,r=8,p=16')],
      ['zero parameters (ln=0, r=0, p=0)', () => good.replace(/ln=\d+,r=\d+,p=\d+/, 'ln=0,r=0,p=0')],
      ['negative parameters', () => good.replace(/ln=\d+/, 'ln=-14')],
      ['missing parameters', () => good.replace(/ln=\d+,r=\d+,p=\d+/, 'ln=14,r=8')],
      ['a truncated key', () => good.slice(0, -10)],
      ['a truncated string (no key)', () => good.slice(0, good.lastIndexOf('$'))],
      ['a salt shorter than 16 bytes', () => ['', 'scrypt', parts()[2], b64(randomBytes(8)), parts()[4]].join('$')],
      ['trailing garbage', () => `${good}$extra`],
      ['a newline appended', () => `${good}\n`],
    ];

    it.each(cases)('%s', async (_name, make) => {
      const stored = make();
      expect(parseScryptHash(stored)).toBeNull();
      const started = Date.now();
      await expect(h.verify(stored, 'correct horse battery')).resolves.toBe(false);
      expect(Date.now() - started).toBeLessThan(50); // refused before any scrypt work
    });
  });

  it('refuses callers beyond the bounded queue with 503 SERVICE_UNAVAILABLE and Retry-After', async () => {
    const small = make(1, 1);
    const running = small.hash('one password here');
    const queued = small.hash('two password here');
    const refused = small.hash('three password here');
    await expect(refused).rejects.toBeInstanceOf(AppError);
    await expect(refused).rejects.toMatchObject({ status: 503, options: { retryAfter: 1 } });
    await Promise.all([running, queued]);
    expect(small.stats).toEqual(expect.objectContaining({ running: 0, waiting: 0 }));
  });
});
