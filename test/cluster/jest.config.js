/**
 * The cluster tier (`npm run test:cluster`, run by .ci/run after the PostgreSQL + Redis pass): built
 * service processes behind Debian's nginx, on the machine's PostgreSQL and a private redis-server. It has
 * no global setup (no embedded database template); see test/cluster/cluster-kit.ts.
 */
const base = require('../../jest.config.js');
const unit = base.projects[0];

module.exports = {
  rootDir: '../..',
  testTimeout: 180000,
  // fetch's keep-alive sockets to nginx outlive the suite by a few seconds; never let them hold CI.
  forceExit: true,
  projects: [{ ...unit, displayName: 'cluster', testMatch: ['<rootDir>/test/cluster/**/*.cluster-spec.ts'] }],
};
