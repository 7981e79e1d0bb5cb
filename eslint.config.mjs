// ESLint (flat config): typescript-eslint's type-checked recommended rules on every TypeScript file, through
// the project service (each file is checked by the tsconfig.json nearest to it: the root one, or
// clients/typescript's). Formatting is Prettier's job: eslint-config-prettier, last, turns off every rule
// that would fight it. Why a rule is off or changed: docs/decisions.md, "Lint".
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'coverage/**',
      'data/**',
      '.test-tmp/**',
      '**/node_modules/**',
      'clients/typescript/schema.d.ts',
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      // The promise rules are the point of type-checked linting here; keep them at their strictest.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'error',
      // Rejecting with `signal.reason` (typed `any`) is how an aborted wait ends, as in Node's own APIs.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      '@typescript-eslint/return-await': ['error', 'error-handling-correctness-only'],
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      // `_`-prefixed names mark a parameter or binding kept on purpose (an interface's signature, a skipped
      // tuple element, a rest sibling that strips a key).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrors: 'none',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // The server logs through Nest's Logger / pino with the correlation id (STYLE.md); tests print only on purpose.
    files: ['src/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // Tests read untyped JSON (supertest's `res.body`, SSE payloads, JSON.parse) and assert on it with expect():
    // typing every response would add casts, not safety. Their `async` callbacks without `await` are adapters to
    // a Promise-taking signature (waitFor predicates, fake upstream handlers, async generators as sources); a
    // forgotten await is still caught by no-floating-promises. The app code under test keeps every rule.
    files: ['test/**/*.ts', 'src/**/*.spec.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain JavaScript (jest configs, build scripts, the test environment): CommonJS on Node, no type information.
    files: ['**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: { ...globals.node },
    },
    rules: {
      ...tseslint.configs.disableTypeChecked.rules,
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['eslint.config.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
);
