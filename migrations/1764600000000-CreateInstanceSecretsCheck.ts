import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Check values that let instances sharing this database detect, at boot, that they do not share the same
 * JWT_SECRET or encryption keys: one row per secret (`jwt`, `enc:<keyId>`), holding an HMAC-SHA256 of a
 * fixed string under that secret (never the secret itself). See InstanceSecretsCheckService.
 */
export class CreateInstanceSecretsCheck1764600000000 implements MigrationInterface {
  name = 'CreateInstanceSecretsCheck1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "instance_secrets_check" (
        "name" varchar(100) PRIMARY KEY,
        "check_value" varchar(128) NOT NULL,
        "created_at" timestamptz(3) NOT NULL DEFAULT now(),
        "updated_at" timestamptz(3) NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "instance_secrets_check"`);
  }
}
