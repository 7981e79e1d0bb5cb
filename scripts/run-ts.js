// Runs a TypeScript entry point (src/admin.ts, src/main.ts) in a plain Node process, compiled file by file by
// SWC on require: no build, and no rewrite of dist/ under a running service. Used by `npm run admin` and by
// tests that start the real service as a child process. Usage: node scripts/run-ts.js <file.ts> [args...]
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { transformSync } = require('@swc/core');

const root = path.resolve(__dirname, '..');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  // tsconfig paths: src/*, test/*, bench/*
  if (/^(src|test|bench)\//.test(request)) request = path.join(root, request);
  // `import('./x.js')` written for nodenext resolves to ./x.ts here (there is no .js next to the source).
  if (/^\.\.?\/.*\.js$/.test(request)) {
    try {
      return resolveFilename.call(this, request, ...rest);
    } catch {
      return resolveFilename.call(this, request.replace(/\.js$/, '.ts'), ...rest);
    }
  }
  return resolveFilename.call(this, request, ...rest);
};
require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
const entry = path.resolve(process.argv[2]);
process.argv.splice(1, 1); // the entry sees its own arguments as if run directly: argv[2] onwards
require(entry);
