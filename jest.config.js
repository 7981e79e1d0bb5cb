/**
 * Jest: @swc/jest for our TypeScript (faster than ts-jest; types are checked by `npm run typecheck`) and to turn the
 * ESM-only NestJS packages into CommonJS. Jest's sandbox
 * loads ES modules through require() only under --experimental-vm-modules, even on Node 24 (docs/decisions.md).
 */
const os = require('node:os');
const { jestVendor } = require('./scripts/jest-vendor');

// Third-party packages from one pre-bundled file (scripts/jest-vendor.js); JEST_VENDOR=0 loads them file by file.
const vendor = process.env.JEST_VENDOR === '0' ? {} : jestVendor();

const common = {
  testEnvironment: '<rootDir>/test/utils/node-environment.js',
  transform: {
    // SWC with the options of scripts/build.js (decorator metadata for Nest's DI); types are checked by `npm run typecheck`.
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true, dynamicImport: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
          keepClassNames: true,
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
    '^.+\\.[mc]?js$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/)'],
  moduleNameMapper: { '^src/(.*)$': '<rootDir>/src/$1', '^test/(.*)$': '<rootDir>/test/$1', ...vendor },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  rootDir: __dirname,
};

module.exports = {
  // Test files in parallel: a file boots the app (CPU) and then waits on the database, timers and sockets, so one
  // worker more than there are cores keeps the cores busy (2 cores, warm caches, quiet machine: 2 workers 3 min 45 s,
  // 3 workers 3 min 9 s; docs/performance.md "Test suite"). One embedded cluster serves all of them (its URL reaches
  // the workers through the environment set in globalSetup); every test app has its own database.
  maxWorkers: os.availableParallelism() + 1,
  globalSetup: '<rootDir>/test/utils/global-setup.ts',
  globalTeardown: '<rootDir>/test/utils/global-teardown.ts',
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...common, displayName: 'medium', testMatch: ['<rootDir>/test/medium/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
  ],
};
