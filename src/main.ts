import 'reflect-metadata';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { describeShutdown, ShutdownReport, shutdownGracefully } from 'src/common/drain/graceful-shutdown';
import { AppConfig, ConfigError, loadConfig } from 'src/config/env';
import { startEmbeddedPostgresEarly } from 'src/database/embedded-postgres';

/** Bootstrap only: config, app, listen, bounded graceful shutdown. */
async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const started = Date.now();
  const logger = new Logger('Bootstrap');
  let app;
  try {
    app = await boot(config);
  } catch (err) {
    // Refusals found at boot (e.g. secrets that differ from the other instances sharing the database).
    if (err instanceof ConfigError) {
      logger.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  if (!config.metrics.enabled) {
    logger.warn(
      '/metrics is off: in production set METRICS_TOKEN (scrapers send it as a Bearer token) or METRICS_PORT (a separate listener)',
    );
  }
  if (config.generatedSecrets) {
    logger.warn(
      `Development secrets generated and stored in ${config.dataDir}/dev-secrets.json (never use them in production)`,
    );
  }
  await app.listen(config.port, config.host);
  const url = await app.getUrl();
  logger.log(
    `Listening on ${url} (database: ${config.db.url ? 'PostgreSQL' : `embedded PostgreSQL in ${config.dataDir}/postgres`}, event bus: ${config.redisUrl ? 'Redis' : 'in-process'}) ` +
      `ready in ${Date.now() - started} ms; ${config.docsEnabled ? `API docs at ${url}/docs` : 'API docs off (DOCS_ENABLED=false)'}`,
  );

  installShutdown(app, config, logger);
}

/**
 * The embedded PostgreSQL (initdb on a fresh DATA_DIR, ~1.7 s) is started first, and the application's modules
 * (~1 s of CPU) are loaded while it starts: the bundled server (scripts/build.js) only evaluates a module when
 * it is first required, here after the database process was spawned.
 */
async function boot(config: AppConfig): Promise<NestExpressApplication> {
  if (!config.db.url) startEmbeddedPostgresEarly(join(config.dataDir, 'postgres'));
  const { createApp } = await import('./app.factory.js');
  return createApp(config);
}

/** Graceful shutdown on SIGTERM/SIGINT (src/common/drain). */
function installShutdown(app: NestExpressApplication, config: AppConfig, logger: Logger): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const budget = config.shutdownTimeoutMs;
    logger.log(`${signal} received: draining (at most ${budget} ms)`);
    const progress: ShutdownReport = { totalMs: 0, phases: [] };
    const force = setTimeout(() => {
      logger.error(`Shutdown took too long (over ${budget} ms; ${describeShutdown(progress)}); exiting`);
      process.exit(1);
    }, budget);
    force.unref();
    // Keep-alive off, drain (readiness 503, SSE clients told to reconnect, tracked work awaited), stop
    // listening, then close: each phase bounded and timed (src/common/drain/graceful-shutdown.ts).
    shutdownGracefully(app, budget, progress)
      .then((report) => {
        const line = `shutdown in ${report.totalMs} ms of ${budget}: ${describeShutdown(report)}`;
        if (report.totalMs > budget * 0.8) logger.warn(line);
        else logger.log(line);
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'Shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void bootstrap();
