import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Client } from 'pg';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { createApp } from 'src/app.factory';
import { AppConfig, loadConfig } from 'src/config/env';
import { PGLITE_TEMPLATE, TEST_TMP } from 'test/utils/global-setup';
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

/**
 * A fresh database for one test app: a copy of the PGlite template, or (with TEST_DATABASE_URL, as in CI)
 * a new database on the real PostgreSQL server, dropped afterwards.
 */
export async function createTestDatabase(dataDir: string): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    cpSync(PGLITE_TEMPLATE, join(dataDir, 'pglite'), { recursive: true });
    return { env: {}, drop: async () => undefined };
  }
  const name = `cb_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
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

/**
 * Boots the whole application exactly as production does (same factory, same pipeline) on a fresh
 * database, listening on a loopback port.
 */
export async function createTestApp(options: { env?: Record<string, string | undefined>; imports?: Type[] } = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(TEST_TMP, 'app-'));
  const db = await createTestDatabase(dataDir);
  const env = { ...baseTestEnv(dataDir), ...db.env, ...options.env };
  const config = loadConfig(env);
  const app = await createApp(config, options.imports);
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  const server = app.getHttpServer();
  return {
    app,
    config,
    url: url.replace('[::1]', '127.0.0.1'),
    http: () => withResponseValidation(request(server)),
    async close() {
      await app.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
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
          const problem = validator.check(req.method, req.url, res.status, res.headers['content-type'] as string | undefined, res.body);
          if (problem) throw new Error(`OpenAPI response validation: ${problem}`);
        });
      };
    },
  });
}
