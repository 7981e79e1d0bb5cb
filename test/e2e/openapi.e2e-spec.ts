import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOpenApi } from 'src/app.factory';
import { serialiseOpenApi } from 'src/openapi';
import { withTestApp } from 'test/utils/test-app';

describe('OpenAPI document', () => {
  const t = withTestApp();

  it('matches the committed openapi.json (run `npm run openapi` after changing routes or DTOs)', () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'openapi.json'), 'utf8');
    expect(serialiseOpenApi(buildOpenApi(t.app))).toBe(committed);
  });

  it('is what /docs-json serves', async () => {
    const res = await t.http().get('/docs-json').expect(200);
    expect(res.body).toEqual(JSON.parse(readFileSync(join(__dirname, '..', '..', 'openapi.json'), 'utf8')));
  });

  it('generates the committed TypeScript client types (run `npm run client` after `npm run openapi`)', () => {
    const root = join(__dirname, '..', '..');
    const dir = mkdtempSync(join(tmpdir(), 'client-'));
    try {
      const out = join(dir, 'schema.d.ts');
      const run = spawnSync(
        process.execPath,
        [join(root, 'node_modules', 'openapi-typescript', 'bin', 'cli.js'), join(root, 'openapi.json'), '-o', out],
        { encoding: 'utf8' },
      );
      expect(run.status).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(root, 'clients', 'typescript', 'schema.d.ts'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('types every schema property (no bare `type: object` without properties, a free-form object says so)', () => {
    const doc = JSON.parse(readFileSync(join(__dirname, '..', '..', 'openapi.json'), 'utf8'));
    const untyped: string[] = [];
    for (const [name, schema] of Object.entries<{ properties?: Record<string, Record<string, unknown>> }>(
      doc.components.schemas,
    )) {
      for (const [prop, p] of Object.entries(schema.properties ?? {})) {
        const bare =
          p.type === 'object' &&
          !p.properties &&
          p.additionalProperties === undefined &&
          !p.allOf &&
          !p.oneOf &&
          !p.anyOf;
        if (bare || (!p.type && !p.$ref && !p.allOf && !p.oneOf && !p.anyOf && !p.enum))
          untyped.push(`${name}.${prop}`);
      }
    }
    expect(untyped).toEqual([]);
  });

  it('gives every operation a summary, a tag, an operationId and contract error bodies', () => {
    const doc = JSON.parse(readFileSync(join(__dirname, '..', '..', 'openapi.json'), 'utf8'));
    const problems: string[] = [];
    for (const [path, item] of Object.entries<Record<string, Record<string, any>>>(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        if (!op.summary || !op.tags?.length || !op.operationId)
          problems.push(`${where}: summary, tags and operationId`);
        for (const [status, response] of Object.entries<Record<string, any>>(op.responses)) {
          if (/^[45]/.test(status) && !response.content?.['application/json'])
            problems.push(`${where} ${status}: no JSON error body`);
          if (
            status === '200' &&
            response.content?.['text/event-stream'] &&
            !response.content['text/event-stream'].schema?.oneOf
          )
            problems.push(`${where}: stream without event schema`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
