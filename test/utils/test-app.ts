import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Client } from 'pg';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { createApp } from 'src/app.factory';
import { AppConfig, loadConfig } from 'src/config/env';
import { createDataSource } from 'src/database/data-source';
import { EMBEDDED_URL_ENV, TEST_TMP } from 'test/utils/global-setup';
import { responseValidator } from 'test/utils/openapi-responses';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  /** supertest bound to the app's HTTP server; every response is checked against openapi.json (test/utils/openapi-responses.ts). */
  http: () => TestAgent;
  /** Base URL of the app listening on a loopback port (for real HTTP clients such as EventSource). */
  url: string;
  close(): Promise<void>;
}

export interface TestDatabase {
  env: Record<string, string>;
  drop(): Promise<void>;
}

const TEMPLATE = 'cb_template';
let templateReady = false;

const databaseUrl = (adminUrl: string, name: string): string => {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
};

/**
 * Embedded tier: a database with every migration applied, made once per run (the cluster lives for one run,
 * so it cannot be stale), which each test database copies (`CREATE DATABASE … TEMPLATE`) instead of running
 * the migrations again. Built under another name and renamed when complete; an advisory lock serialises
 * test files that get here together.
 */
async function ensureTemplate(adminUrl: string): Promise<void> {
  if (templateReady) return;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock(727274)');
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEMPLATE]);
    if (!rowCount) {
      const building = `${TEMPLATE}_build`;
      await admin.query(`DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${building}"`);
      const ds = await createDataSource(
        loadConfig({ ...baseTestEnv(TEST_TMP), DATABASE_URL: databaseUrl(adminUrl, building) }),
        {},
        true,
      );
      await ds.destroy();
      await admin.query(`ALTER DATABASE "${building}" RENAME TO "${TEMPLATE}"`);
    }
    templateReady = true;
  } finally {
    await admin.query('SELECT pg_advisory_unlock(727274)').catch(() => undefined);
    await admin.end();
  }
}

/**
 * A fresh database for one test app, dropped afterwards: on the run's embedded cluster (test/utils/global-setup.ts),
 * copied from the migrated template, or with TEST_DATABASE_URL (as in CI) an empty one on the real PostgreSQL
 * server (shared with other runs, so the app migrates it itself).
 */
export async function createTestDatabase(_dataDir?: string): Promise<TestDatabase> {
  const embedded = !process.env.TEST_DATABASE_URL;
  const adminUrl = process.env.TEST_DATABASE_URL ?? process.env[EMBEDDED_URL_ENV];
  if (!adminUrl)
    throw new Error(
      `no test database: jest's globalSetup did not start the embedded cluster (${EMBEDDED_URL_ENV} unset)`,
    );
  if (embedded) await ensureTemplate(adminUrl);
  const name = `cb_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"${embedded ? ` TEMPLATE "${TEMPLATE}"` : ''}`);
  await admin.end();
  return {
    env: { DATABASE_URL: databaseUrl(adminUrl, name) },
    async drop() {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Environment every test app starts from; a test overrides what it is about. */
export function baseTestEnv(dataDir: string): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    THROTTLE_LIMIT: '100000',
    AUTH_LOGIN_RATE_LIMIT: '100000',
    AUTH_REGISTER_RATE_LIMIT: '100000',
    MOCK_LLM_DELAY_MS: '1',
    REDIS_KEY_PREFIX: `test:${randomBytes(4).toString('hex')}:`,
    ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {}),
  };
}

export interface TestAppOptions {
  /** Environment on top of {@link baseTestEnv}: what the test is about. */
  env?: Record<string, string | undefined>;
  /** Extra modules (probes) imported next to AppModule. */
  imports?: Type[];
}

/**
 * The shared fixture: one application for the enclosing `describe` block, booted in a `beforeAll` on its own
 * fresh database ({@link createTestApp}) and closed in an `afterAll` (the database dropped, its DATA_DIR removed).
 * Returns the app's handle, readable from tests and from hooks declared after this call (which run after the
 * boot); `options` may be a function, evaluated in that `beforeAll`, for values made by earlier hooks (the URL of
 * a fake upstream started in a `beforeAll` above it).
 *
 *   const t = withTestApp({ env: { THROTTLE_LIMIT: '3' } });
 *   it('…', () => t.http().get('/health').expect(200));
 */
export function withTestApp(options: TestAppOptions | (() => TestAppOptions | Promise<TestAppOptions>) = {}): TestApp {
  let current: TestApp | undefined;
  beforeAll(async () => {
    current = await createTestApp(typeof options === 'function' ? await options() : options);
  });
  afterAll(async () => {
    const t = current;
    current = undefined;
    await t?.close();
  });
  return new Proxy({} as TestApp, {
    get(_target, prop) {
      if (prop === 'then') return undefined; // not a promise
      if (!current)
        throw new Error(
          `withTestApp: \`${String(prop)}\` read outside the block's tests (before its beforeAll or after its afterAll)`,
        );
      const value = Reflect.get(current, prop) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(current) : value;
    },
  });
}

/**
 * Boots the whole application exactly as production does (same factory, same pipeline) on a fresh
 * database, listening on a loopback port. `close()` may be called more than once.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(TEST_TMP, 'app-'));
  // A test that names its database (a second instance on the first one's) gets exactly that.
  const db = options.env?.DATABASE_URL ? { env: {}, drop: async () => undefined } : await createTestDatabase(dataDir);
  const env = { ...baseTestEnv(dataDir), ...db.env, ...options.env };
  let config = loadConfig(env);
  if (!process.env.TEST_DATABASE_URL && !options.env?.DATABASE_URL) {
    // Embedded tier: the app behaves as a default deployment does (its database belongs to it alone:
    // in-process caches and deny-list), on its own database in the run's embedded cluster.
    config = { ...config, db: { ...config.db, url: db.env.DATABASE_URL, embedded: true } };
  }
  const app = await createApp(config, options.imports);
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  const server = app.getHttpServer();
  let closing: Promise<void> | undefined;
  return {
    app,
    config,
    url: url.replace('[::1]', '127.0.0.1'),
    http: () => withResponseValidation(request(server)),
    close() {
      closing ??= (async () => {
        await app.close();
        await db.drop();
        rmSync(dataDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

const HTTP_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']);

/**
 * Adds to every request of a supertest agent an assertion that the response is what openapi.json documents
 * (status, and JSON body against the operation's schema): a test fails on any undocumented response.
 */
export function withResponseValidation(agent: TestAgent): TestAgent {
  const validator = responseValidator();
  if (!validator) return agent;
  return new Proxy(agent, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || !HTTP_METHODS.has(prop) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const test = (value as (...a: unknown[]) => request.Test).apply(target, args);
        return test.expect((res: request.Response) => {
          const req = (res as unknown as { request: { method: string; url: string } }).request;
          const problem = validator.check(req.method, req.url, res.status, res.headers['content-type'], res.body);
          if (problem) throw new Error(`OpenAPI response validation: ${problem}`);
        });
      };
    },
  });
}
