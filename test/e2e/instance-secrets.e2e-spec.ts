import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp } from 'src/app.factory';
import { ConfigError, loadConfig } from 'src/config/env';
import { TEST_TMP } from 'test/utils/global-setup';
import { baseTestEnv, createTestDatabase, TestDatabase } from 'test/utils/test-app';

const key = (n: number) => Buffer.alloc(32, n).toString('base64');
const OTHER_JWT = 'another-secret-another-secret-another-secret-01';

/**
 * Instances sharing a database must share JWT_SECRET and the encryption keys; one that does not refuses to
 * start, naming the secret. With TEST_DATABASE_URL the first instance keeps running while the others boot
 * (a real shared database); on the embedded database (one process owns it) the instances boot one after
 * the other on the same data directory.
 */
describe('Instance secrets check at boot', () => {
  const shared = Boolean(process.env.TEST_DATABASE_URL);
  let dataDir: string;
  let db: TestDatabase;
  let first: NestExpressApplication | undefined;

  const boot = (env: Record<string, string> = {}) =>
    createApp(loadConfig({ ...baseTestEnv(dataDir), ...db.env, ...env }));
  /** Boots and closes at once (the instance only has to pass the check). */
  const bootAndClose = async (env: Record<string, string> = {}) => (await boot(env)).close();
  const refusal = async (env: Record<string, string>): Promise<ConfigError> => {
    const err = await boot(env).then(
      async (app) => {
        await app.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(TEST_TMP, 'secrets-'));
    db = await createTestDatabase(dataDir);
    first = await boot();
    if (!shared) {
      await first.close();
      first = undefined;
    }
  });
  afterAll(async () => {
    await first?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses to start with another JWT_SECRET, naming it and saying all instances must share it', async () => {
    const err = await refusal({ JWT_SECRET: OTHER_JWT });
    expect(err.message).toMatch(/JWT_SECRET differs from the one recorded in the database/);
    expect(err.message).toMatch(/every instance sharing a database must use the same JWT_SECRET and ENCRYPTION_KEY/);
    expect(err.message).not.toContain(OTHER_JWT);
  });

  it('refuses to start with another ENCRYPTION_KEY (same key id k1)', async () => {
    const err = await refusal({ ENCRYPTION_KEY: key(9) });
    expect(err.message).toMatch(/encryption key "k1"/);
    expect(err.message).not.toMatch(/JWT_SECRET differs/);
  });

  it('keeps key rotation working: a new key id first in ENCRYPTION_KEYS starts, another key under it then does not', async () => {
    await bootAndClose({ ENCRYPTION_KEYS: `k2:${key(11)},k1:${key(7)}` });
    await bootAndClose({ ENCRYPTION_KEYS: `k2:${key(11)}` }); // k1 retired
    const err = await refusal({ ENCRYPTION_KEYS: `k2:${key(12)},k1:${key(7)}` });
    expect(err.message).toMatch(/encryption key "k2"/);
  });

  it('accepts a deliberate JWT_SECRET change with SECRETS_CHECK_RESET=true; the old secret is then the mismatch', async () => {
    if (first) {
      await first.close();
      first = undefined;
    }
    await bootAndClose({ JWT_SECRET: OTHER_JWT, SECRETS_CHECK_RESET: 'true' });
    await bootAndClose({ JWT_SECRET: OTHER_JWT });
    const err = await refusal({});
    expect(err.message).toMatch(/JWT_SECRET differs/);
  });
});
