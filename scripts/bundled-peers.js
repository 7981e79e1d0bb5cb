// esbuild plugin shared by the server bundle (scripts/build.js) and Jest's vendor bundle (scripts/jest-vendor.js).
// Nest 12's ESM packages require their optional peers through createRequire(import.meta.url), which esbuild cannot
// follow: at run time that would load a second copy from node_modules (a second class-validator metadata storage,
// so a PartialType DTO would lose its parent's validation; a second TypeORM). These peers are rewired to the
// bundled copies; any other id is required from node_modules as before (swagger-ui-dist's asset path).
const fs = require('node:fs');

// Optional peers that Nest requires only when used (microservices, websockets, fastify): never here.
const OPTIONAL_PEERS = [
  '@nestjs/microservices',
  '@nestjs/microservices/*',
  '@nestjs/websockets',
  '@nestjs/websockets/*',
  '@fastify/static',
];

const BUNDLED_PEERS = [
  'class-validator',
  'class-transformer',
  'class-transformer/cjs/storage',
  '@nestjs/swagger',
  'typeorm',
];

/** @param {string} root the directory from which the peers are resolved */
function bundledPeers(root) {
  return {
    name: 'bundled-peers',
    setup(build) {
      build.onResolve({ filter: /^bundled-peers$/ }, () => ({ path: 'bundled-peers', namespace: 'bundled-peers' }));
      build.onLoad({ filter: /.*/, namespace: 'bundled-peers' }, () => ({
        resolveDir: root,
        loader: 'js',
        contents:
          `const { createRequire } = require('node:module');\n` +
          `const fallback = createRequire(__filename);\n` +
          `module.exports = (id) => {\n  switch (id) {\n` +
          BUNDLED_PEERS.map((id) => `    case ${JSON.stringify(id)}: return require(${JSON.stringify(id)});\n`).join(
            '',
          ) +
          `    default: return fallback(id);\n  }\n};\n`,
      }));
      build.onLoad({ filter: /node_modules[\\/]@nestjs[\\/].*\.js$/ }, (args) => {
        const source = fs.readFileSync(args.path, 'utf8');
        if (!source.includes('createRequire(import.meta.url)')) return undefined;
        return {
          loader: 'js',
          contents: `import __bundledRequire from 'bundled-peers';\n${source.replaceAll('createRequire(import.meta.url)', '(() => __bundledRequire)()')}`,
        };
      });
    },
  };
}

/**
 * The ESM-only packages (Nest 12, Swagger, Terminus) use import.meta to find files and optional packages
 * (createRequire(import.meta.url), import.meta.resolve): in a CommonJS bundle these resolve from the bundle's own
 * location, from which node_modules is found the same way.
 */
const IMPORT_META = {
  define: {
    'import.meta.url': '__bundleUrl',
    'import.meta.resolve': '__bundleResolve',
    'import.meta.dirname': '__dirname',
    'import.meta.filename': '__filename',
  },
  banner: {
    js:
      "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;\n" +
      "const __bundleResolve = (s) => require('node:url').pathToFileURL(require.resolve(s)).href;",
  },
};

module.exports = { OPTIONAL_PEERS, BUNDLED_PEERS, bundledPeers, IMPORT_META };
