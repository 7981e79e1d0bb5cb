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
// keepNames keeps the `name` of classes and functions that bundling renames (two modules' `Observable` become
// `Observable6`): Nest, TypeORM and the logger read class names. esbuild does it by wrapping every function in
// `__name(fn, "name")`, which defines an own `name` property on each closure as it is created, and so gives each
// closure a property store of its own (256 bytes in a heap snapshot) and a slow-path call: an idle SSE stream held
// 17 such closures (4.3 KB of its 23.7 KB of JS heap, docs/performance.md "Idle memory"), and every request
// creates many more. Only classes and functions with a prototype (the ones a rename can affect and that code
// reads the name of) need it; arrow functions, methods and async functions get no `name` property here, except
// those named `type`: @nestjs/swagger recognises a lazy type (`@ApiProperty({ type: () => Dto })`) by that name.
// (Checked: the bundle's /docs-json equals the committed openapi.json.) The cost: in a stack trace, an arrow
// function declared as `const f = () => …` shows as anonymous.
// The name is compared first, and `prototype` is tested with hasOwnProperty, not read: reading `prototype` of a
// plain `function` makes V8 create its prototype object (allocated lazily otherwise), and every such closure a
// request creates (passport's, router's, rxjs's) paid for one: 3.6–4.2 % of an authenticated request's CPU in a
// profile, ~10× the helper's own cost in a micro-benchmark (docs/performance.md, session 8). The same functions
// are named as before (an own `prototype` is what arrows, methods and async functions lack).
const NAME_KEPT =
  "(target, value) => target.name === value || (!Object.prototype.hasOwnProperty.call(target, 'prototype') && value !== 'type') ? target : Object.defineProperty(target, 'name', { value, configurable: true })";
const ESBUILD_NAME_HELPER = 'var __name=(target,value)=>__defProp(target,"name",{value,configurable:!0});';

/** Points esbuild's `__name` helper at `__nameKept` (banner), padded to the same length so the source map holds. */
function lightenKeepNames(file) {
  const code = fs.readFileSync(file, 'utf8');
  if (!code.includes(ESBUILD_NAME_HELPER)) throw new Error(`esbuild's __name helper not found in ${file}`);
  fs.writeFileSync(
    file,
    code.replace(ESBUILD_NAME_HELPER, 'var __name=__nameKept;'.padEnd(ESBUILD_NAME_HELPER.length)),
  );
}

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
    define: IMPORT_META.define,
    banner: { js: `${IMPORT_META.banner.js}\nconst __nameKept = ${NAME_KEPT};` },
    logLevel: 'warning',
  })
  .then(
    () => {
      lightenKeepNames(main);
      process.stdout.write(
        `built ${count} files into dist/ and bundled dist/src/main.js in ${Date.now() - started} ms\n`,
      );
    },
    (err) => {
      process.stderr.write(`bundling dist/src/main.js failed: ${err.message}\n`);
      process.exit(1);
    },
  );
