// Jest environment that hands the sandbox Node's undici dispatcher, without which @google/genai
// throws "Undici globalDispatcher is not available" inside jest (see ../shared/STACK.md).
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
