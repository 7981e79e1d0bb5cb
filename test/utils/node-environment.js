// Jest environment that hands the sandbox Node's undici dispatcher, without which the global fetch (as
// @google/genai calls it) throws "Undici globalDispatcher is not available" inside jest, on Node 20 and
// still on Node 24 (test/medium/llm/fakes.spec.ts fails without it; docs/decisions.md).
const { TestEnvironment } = require('jest-environment-node');

class NodeEnvironment extends TestEnvironment {
  async setup() {
    await super.setup();
    new Headers();
    const key = Symbol.for('undici.globalDispatcher.1');
    if (globalThis[key]) this.global[key] = globalThis[key];
  }
}

module.exports = NodeEnvironment;
