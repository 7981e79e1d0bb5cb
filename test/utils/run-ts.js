// Runs a TypeScript entry point (e.g. src/main.ts) in a plain Node process, compiled file by file by SWC on
// require, so tests can start the real service as a child process without a build. Usage: node run-ts.js <file.ts>
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { transformSync } = require('@swc/core');

const root = path.resolve(__dirname, '..', '..');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  // tsconfig paths: src/*, test/*, bench/*
  if (/^(src|test|bench)\//.test(request)) request = path.join(root, request);
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
require(path.resolve(process.argv[2]));
