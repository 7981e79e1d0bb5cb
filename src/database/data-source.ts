import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { DataSource, DataSourceOptions } from 'typeorm';
import type { AppConfig } from 'src/config/env';
import { EmbeddedPostgres, startEmbeddedPostgres, takeEarlyStart } from 'src/database/embedded-postgres';
import { MIGRATIONS } from '../../migrations';

/**
 * Entities for the data sources made outside Nest (migration CLI, admin CLI, tests); the app itself passes the
 * entities its modules register (`autoLoadEntities`), so this glob is never read by the bundled server.
 */
const ENTITIES_GLOB = join(__dirname, '..', '**', `*.entity.${__filename.endsWith('.ts') ? 'ts' : 'js'}`);

/**
 * The one options object for the app, the migration CLI and the tests. `synchronize` is off everywhere:
 * the schema only changes through reviewed migrations in `migrations/`.
 */
export function dataSourceOptions(config: AppConfig, url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: [ENTITIES_GLOB],
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: config.db.logging ? ['query', 'error'] : ['error'],
    extra: {
      max: config.db.poolMax,
      idleTimeoutMillis: config.db.poolIdleTimeoutMs,
      connectionTimeoutMillis: config.db.connectTimeoutMs,
    },
  };
}

export interface DatabaseHandle {
  url: string;
  embedded: EmbeddedPostgres | null;
}

/**
 * Resolves the database URL: DATABASE_URL, or the embedded PostgreSQL under DATA_DIR/postgres, started here
 * (before any migration) and reached over its private Unix socket.
 */
export async function openDatabase(config: AppConfig, opts: { reuseRunning?: boolean } = {}): Promise<DatabaseHandle> {
  if (config.db.url) return { url: config.db.url, embedded: null };
  const logger = new Logger('EmbeddedPostgres');
  const dataDir = join(config.dataDir, 'postgres');
  const log = { log: (m: string) => logger.log(m), warn: (m: string) => logger.warn(m) };
  // Started early by src/main.ts while the modules loaded, or now.
  const embedded = await ((!opts.reuseRunning && takeEarlyStart(dataDir, log)) ||
    startEmbeddedPostgres({ dataDir, reuseRunning: opts.reuseRunning, logger: log }));
  return { url: embedded.url, embedded };
}

/**
 * Creates and initialises a DataSource (running pending migrations when configured). Destroying it also
 * stops the embedded database, so shutdown order cannot leave the embedded server running.
 */
export async function createDataSource(
  config: AppConfig,
  options: Partial<DataSourceOptions> = {},
  runMigrations = config.db.migrationsRun,
  /** Use the embedded server of a running service on the same DATA_DIR (the admin CLI). */
  reuseRunning = false,
): Promise<DataSource> {
  const handle = await openDatabase(config, { reuseRunning });
  const merged = { ...dataSourceOptions(config, handle.url), ...options } as DataSourceOptions;
  const ds = new DataSource(merged);
  try {
    await ds.initialize();
    if (runMigrations) await ds.runMigrations({ transaction: 'each' });
  } catch (err) {
    if (ds.isInitialized) await ds.destroy();
    await handle.embedded?.stop();
    throw err;
  }
  const destroy = ds.destroy.bind(ds);
  ds.destroy = async () => {
    await destroy();
    await handle.embedded?.stop();
  };
  return ds;
}
