// Fast build for `npm start` and the CI smoke test: every .ts file of src/, migrations/, bench/ and test/fakes/
// compiled by SWC into dist/ (same layout and options as `nest build -b swc`, without loading the Nest CLI,
// which took most of the time). No type check: `npm run typecheck` / `npm run build` (tsc) do that.
// Then the server entry (dist/src/main.js) is replaced by one bundled file (esbuild, from SWC's output, so
// decorator metadata is kept): loading ~1,900 CommonJS files from node_modules cost more than half of a boot
// (docs/performance.md "Runtime"). The other entries (migrate, openapi, admin, bench) stay unbundled.
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

const main = path.join(out, 'src', 'main.js');

const { bundledPeers, IMPORT_META, OPTIONAL_PEERS } = require('./bundled-peers');

require('esbuild')
  .build({
    entryPoints: [main],
    outfile: main,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true, // Nest and TypeORM use class names (tokens, entity and migration names)
    sourcemap: true,
    // @google/genai (and its google-auth-library, ws, node-fetch…, ~1.2 MB of the bundle) is imported on the first
    // Gemini request (gemini.provider.ts): left in node_modules, it is neither parsed nor evaluated at boot.
    external: [...OPTIONAL_PEERS, '@google/genai'],
    plugins: [bundledPeers(root)],
    ...IMPORT_META,
    logLevel: 'warning',
  })
  .then(
    () =>
      process.stdout.write(
        `built ${count} files into dist/ and bundled dist/src/main.js in ${Date.now() - started} ms\n`,
      ),
    (err) => {
      process.stderr.write(`bundling dist/src/main.js failed: ${err.message}\n`);
      process.exit(1);
    },
  );
