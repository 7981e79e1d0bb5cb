import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOpenApi } from 'src/app.factory';
import { serialiseOpenApi } from 'src/openapi';
import { createTestApp, TestApp } from 'test/utils/test-app';

describe('OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('matches the committed openapi.json (run `npm run openapi` after changing routes or DTOs)', () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'openapi.json'), 'utf8');
    expect(serialiseOpenApi(buildOpenApi(t.app))).toBe(committed);
  });

  it('is what /docs-json serves', async () => {
    const res = await t.http().get('/docs-json').expect(200);
    expect(res.body).toEqual(JSON.parse(readFileSync(join(__dirname, '..', '..', 'openapi.json'), 'utf8')));
  });
});
