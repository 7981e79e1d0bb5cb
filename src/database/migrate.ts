import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { loadConfig } from 'src/config/env';
import { createDataSource } from 'src/database/data-source';

/**
 * Migration CLI over the same options as the app (the embedded PostgreSQL under DATA_DIR, or DATABASE_URL):
 *   migrate run | revert | generate <PascalName>
 * `generate` diffs the entities against the database and writes a migration to review and commit.
 */
async function main(): Promise<void> {
  const [command, name] = process.argv.slice(2);
  const logger = new Logger('Migrations');
  const config = loadConfig();
  const ds = await createDataSource(config, {}, false);
  try {
    if (command === 'run') {
      const done = await ds.runMigrations({ transaction: 'each' });
      logger.log(done.length ? `applied: ${done.map((m) => m.name).join(', ')}` : 'nothing to apply');
    } else if (command === 'revert') {
      await ds.undoLastMigration({ transaction: 'each' });
      logger.log('reverted the last migration');
    } else if (command === 'generate') {
      if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) throw new Error('usage: migration:generate <PascalName>');
      const sql = await ds.driver.createSchemaBuilder().log();
      if (!sql.upQueries.length) {
        logger.log('no changes: the entities match the database');
        return;
      }
      const ts = Date.now();
      const q = (s: string) => s.replace(/`/g, '\\`');
      const up = sql.upQueries.map((x) => `    await q.query(\`${q(x.query)}\`);`).join('\n');
      const down = sql.downQueries
        .reverse()
        .map((x) => `    await q.query(\`${q(x.query)}\`);`)
        .join('\n');
      const file = join(process.cwd(), 'migrations', `${ts}-${name}.ts`);
      writeFileSync(
        file,
        `import { MigrationInterface, QueryRunner } from 'typeorm';\n\nexport class ${name}${ts} implements MigrationInterface {\n  name = '${name}${ts}';\n\n  async up(q: QueryRunner): Promise<void> {\n${up}\n  }\n\n  async down(q: QueryRunner): Promise<void> {\n${down}\n  }\n}\n`,
      );
      logger.log(`wrote ${file}: review it, and add its class to migrations/index.ts, before committing`);
    } else {
      throw new Error('usage: migrate run | revert | generate <PascalName>');
    }
  } finally {
    await ds.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
