// Fast build for `npm start` and the CI smoke test: every .ts file of src/, migrations/, bench/ and test/fakes/
// compiled by SWC into dist/ (same layout and options as `nest build -b swc`, without loading the Nest CLI,
// which took most of the time). No type check: `npm run typecheck` / `npm run build` (tsc) do that.
const fs = require('node:fs');
const path = require('node:path');
const { transformFileSync } = require('@swc/core');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'dist');
const roots = ['src', 'migrations', 'bench', 'test/fakes'];
const tsconfig = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8'));

function* tsFiles(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* tsFiles(p);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) yield p;
  }
}

const started = Date.now();
fs.rmSync(out, { recursive: true, force: true });
let count = 0;
for (const r of roots) {
  if (!fs.existsSync(path.join(root, r))) continue;
  for (const file of tsFiles(path.join(root, r))) {
    const target = path.join(out, path.relative(root, file)).replace(/\.ts$/, '.js');
    const { code, map } = transformFileSync(file, {
      swcrc: false,
      sourceMaps: true,
      outputPath: target,
      module: { type: 'commonjs' },
      jsc: {
        target: 'es2022',
        parser: { syntax: 'typescript', decorators: true, dynamicImport: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        keepClassNames: true,
        baseUrl: root,
        paths: tsconfig.compilerOptions.paths,
      },
    });
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, `${code}\n//# sourceMappingURL=${path.basename(target)}.map\n`);
    if (map) fs.writeFileSync(`${target}.map`, map);
    count++;
  }
}
process.stdout.write(`built ${count} files into dist/ in ${Date.now() - started} ms\n`);
