// ESLint (flat config): `npm run lint`, also run by `npm test`.
// Correctness rules only (eslint + typescript-eslint recommended); layout is Prettier's job.
// `eslint .` lints lib/, scripts/, tests/ and this file (everything else is in `ignores`).
// TypeScript files are linted with type information (tsconfig.json), which finds `as` casts
// that change nothing. A rule that must be switched off somewhere says why on the same line:
//   // eslint-disable-next-line some-rule -- the reason
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { defineConfig } from 'eslint/config';

/**
 * Node.js globals used by the plain-JavaScript scripts (the `globals` package is not a dependency).
 */
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'performance',
    'fetch',
    'AbortController',
    'AbortSignal',
    'TextDecoder',
    'TextEncoder',
    'structuredClone',
    '__dirname',
    '__filename',
    'require',
    'module',
  ].map((name) => [name, 'readonly']),
);

/**
 * Every `eslint-disable…` comment must give its reason after ` -- ` (ESLint's description syntax).
 */
const disableNeedsReason = {
  meta: {
    type: 'suggestion',
    docs: { description: 'eslint-disable comments must say why, after " -- "' },
    schema: [],
    messages: { noReason: 'Say why this rule is switched off: `{{text}} -- <reason>`.' },
  },
  create(context) {
    return {
      Program() {
        for (const comment of context.sourceCode.getAllComments()) {
          const text = comment.value.trim();
          if (!/^eslint-disable(-next-line|-line)?\b/.test(text)) continue;
          const reason = text.split(/\s--\s/)[1];
          if (reason === undefined || reason.trim() === '') {
            context.report({ loc: comment.loc, messageId: 'noReason', data: { text } });
          }
        }
      },
    };
  },
};

/**
 * typescript-eslint's no-unnecessary-type-assertion without its "type arguments may be inferred
 * from the assertion" reports: `tf.tidy(() => …) as Tensor2D` is the project's idiom for naming a
 * tidy's result type, and that cast is not unnecessary (removing it changes the type).
 */
const baseAssertionRule = tseslint.plugin.rules['no-unnecessary-type-assertion'];
const unnecessaryAssertion = {
  ...baseAssertionRule,
  create(context) {
    const filtered = Object.create(context, {
      report: {
        value: (descriptor) => {
          if (descriptor.messageId !== 'contextuallyInferredTypeArguments')
            context.report(descriptor);
        },
      },
    });
    return baseAssertionRule.create(filtered);
  },
};

export default defineConfig(
  {
    ignores: [
      'build/**',
      'node_modules/**',
      '.venv/**',
      '.cache/**',
      '.scratch/**',
      'data/**',
      'figures/**',
      'results/**',
      'reports/**',
      'test-output/**',
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: {
      local: {
        rules: {
          'disable-needs-reason': disableNeedsReason,
          'no-unnecessary-type-assertion': unnecessaryAssertion,
        },
      },
    },
    rules: { 'local/disable-needs-reason': 'error' },
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Names starting with _ are deliberately unused (e.g. `const { a: _a, ...rest } = o`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'local/no-unnecessary-type-assertion': 'error',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { sourceType: 'module', globals: nodeGlobals },
  },
);
