import { createHmac } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InstanceSecretsCheckRepository } from 'src/auth/instance-secrets-check.repository';
import { APP_CONFIG, AppConfig, ConfigError } from 'src/config/env';

const CHECK_MESSAGE = 'chat-backend instance secrets check v1';

/** HMAC-SHA256 of a fixed string under each secret: equal values mean equal secrets, and reveal nothing else. */
export function secretCheckValues(config: AppConfig): Map<string, string> {
  const mac = (key: string | Buffer, name: string) =>
    createHmac('sha256', key).update(`${CHECK_MESSAGE}:${name}`).digest('hex');
  const values = new Map<string, string>([['jwt', mac(config.auth.jwtSecret, 'jwt')]]);
  for (const [id, key] of Object.entries(config.crypto.keys)) values.set(`enc:${id}`, mac(key, `enc:${id}`));
  return values;
}

const describeSecret = (name: string) =>
  name === 'jwt' ? 'JWT_SECRET' : `encryption key "${name.slice(4)}" (ENCRYPTION_KEY, or that id in ENCRYPTION_KEYS)`;

/**
 * Instances that share a database must share JWT_SECRET (or they reject each other's tokens) and the
 * encryption keys (or they cannot read each other's agent secrets). At boot each instance compares its
 * secrets' check values with those recorded in the database (the first instance to use a secret records
 * it) and refuses to start on a mismatch, with a message naming the secret. Keys are checked per key id,
 * so rotation (a new id first in ENCRYPTION_KEYS, old ids kept or later removed) passes; a different key
 * under an id already recorded does not. SECRETS_CHECK_RESET=true records this instance's values instead
 * (after a deliberate change of JWT_SECRET on every instance).
 */
@Injectable()
export class InstanceSecretsCheckService implements OnModuleInit {
  private readonly logger = new Logger(InstanceSecretsCheckService.name);

  constructor(
    private readonly repo: InstanceSecretsCheckRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const mine = secretCheckValues(this.config);
    const ids = Object.keys(this.config.crypto.keys).join(', ');
    if (this.config.secretsCheckReset) {
      await this.repo.replace(mine);
      this.logger.warn(
        `SECRETS_CHECK_RESET: recorded this instance's JWT_SECRET and encryption keys (${ids}) as the ones every instance must use`,
      );
      return;
    }
    await this.repo.recordMissing(mine);
    const stored = await this.repo.list([...mine.keys()]);
    const mismatched = stored.filter((row) => row.checkValue !== mine.get(row.name));
    if (mismatched.length) {
      throw new ConfigError([
        ...mismatched.map(
          (row) =>
            `${describeSecret(row.name)} differs from the one recorded in the database on ${row.updatedAt.toISOString()} by the instances that share it`,
        ),
        'every instance sharing a database must use the same JWT_SECRET and ENCRYPTION_KEY(S): otherwise they reject each ' +
          "other's tokens and cannot read each other's agent secrets. Start this instance with the same values; after a deliberate " +
          'change of JWT_SECRET on every instance, start once with SECRETS_CHECK_RESET=true (a key already recorded under an id ' +
          'must never change: rotate with a new id first in ENCRYPTION_KEYS)',
      ]);
    }
    this.logger.log(
      `Secrets check passed: JWT_SECRET and encryption keys (${ids}) match the database; every instance sharing it must use the same JWT_SECRET and ENCRYPTION_KEY(S)`,
    );
  }
}
