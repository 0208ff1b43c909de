// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // Tests poke at untyped protocol payloads (decoded JSON, CBOR) on purpose.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Workflows are replayed: they must stay deterministic, so no I/O and no Node built-ins.
    // https://docs.temporal.io/develop/typescript/core-application#workflow-logic-requirements
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'os', 'child_process'], message: 'Workflows must not do I/O; use an activity.' },
          { group: ['pg', 'knex', 'express', 'nodemailer', 'jose', '@grpc/*', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'pino'], message: 'Workflows must not do I/O; use an activity.' },
          { group: ['../src/*', '../src/**', '../../src/*', '../../src/**'], message: 'Workflows import only @temporalio/workflow, shared types and `import type` from activities.', allowTypeImports: true },
          { group: ['../activities', '../activities/*', '../../activities', '../../activities/*'], message: 'Workflows import activities as types only (proxyActivities<typeof ...>).', allowTypeImports: true },
        ],
      }],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' }, { name: 'setInterval', message: 'Use sleep() from @temporalio/workflow.' }],
    },
  },
  {
    // Everything outside workflows/ depends on a workflow's contract (workflows/contracts/), never on
    // its implementation: no import cycle activities → src → workflows → activities, and a change to
    // workflow code cannot reach the gateway or the activities. Tests may start implementations directly.
    files: ['src/**/*.ts', 'activities/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          regex: '(^|/)workflows(/(?!contracts/)[^/]+)?$',
          message: 'Import the workflow contract (workflows/contracts/...), not the workflow implementation.',
        }],
      }],
    },
  },
);
