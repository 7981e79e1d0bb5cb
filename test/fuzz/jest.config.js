/** The OpenAPI-driven fuzzer (`npm run test:fuzz`): its own jest project, not part of `npm test`. */
const { join } = require('node:path');
const root = require('../../jest.config.js');

const rootDir = join(__dirname, '..', '..');
module.exports = {
  rootDir,
  globalSetup: root.globalSetup,
  globalTeardown: root.globalTeardown,
  testTimeout: 600000,
  projects: [
    { ...root.projects[0], rootDir, displayName: 'fuzz', testMatch: ['<rootDir>/test/fuzz/**/*.fuzz-spec.ts'] },
  ],
};
