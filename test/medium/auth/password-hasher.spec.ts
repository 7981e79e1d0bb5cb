import { PasswordHasher } from 'src/auth/password-hasher.service';
import { AppError } from 'src/common/errors/app-error';
import { loadConfig } from 'src/config/env';

describe('PasswordHasher (real Argon2id)', () => {
  const make = (concurrency: number, queue: number) => {
    const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'), AUTH_HASH_CONCURRENCY: String(concurrency), AUTH_HASH_QUEUE_MAX: String(queue), DATA_DIR: '/tmp/unused-hasher' });
    return new PasswordHasher(config);
  };

  it('verifies the right password and refuses a wrong one', async () => {
    const h = make(2, 4);
    await h.onModuleInit();
    const hash = await h.hash('correct horse battery');
    expect(await h.verify(hash, 'correct horse battery')).toBe(true);
    expect(await h.verify(hash, 'wrong horse battery')).toBe(false);
  });

  it('does the same work and fails when there is no account (dummy hash)', async () => {
    const h = make(2, 4);
    await h.onModuleInit();
    expect(await h.verify(undefined, 'anything at all')).toBe(false);
    expect(await h.verify('not-a-hash', 'anything at all')).toBe(false);
  });

  it('refuses callers beyond the bounded queue with 503 SERVICE_UNAVAILABLE and Retry-After', async () => {
    const h = make(1, 1);
    const running = h.hash('one password here');
    const queued = h.hash('two password here');
    const refused = h.hash('three password here');
    await expect(refused).rejects.toBeInstanceOf(AppError);
    await expect(refused).rejects.toMatchObject({ status: 503, options: { retryAfter: 1 } });
    await Promise.all([running, queued]);
    expect(h.stats).toEqual(expect.objectContaining({ running: 0, waiting: 0 }));
  });
});
