import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOpenApi, createApp } from 'src/app.factory';
import { loadConfig } from 'src/config/env';

/** Boots the app on a throw-away embedded database and writes the OpenAPI document to ./openapi.json (run from the repo root: npm run openapi). */
export const OPENAPI_FILE = join(process.cwd(), 'openapi.json');

export function serialiseOpenApi(doc: object): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'openapi-'));
  const app = await createApp(
    loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'error',
      JWT_SECRET: 'x'.repeat(40),
      ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
    }),
  );
  try {
    writeFileSync(OPENAPI_FILE, serialiseOpenApi(buildOpenApi(app)));
    process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) void main();
