// Lint rules that carry the architecture's dependency rules (../shared/docs/architecture.md):
// the engine never imports electron or the UI layers; shared/ and renderer/ stay free of Node.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'crypto', 'stream', 'worker_threads', 'net', 'http', 'https', 'url', 'util', 'zlib'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'renderer/dist/**', '.tmp/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['**/*.mjs', 'bin/**', 'scripts/**'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' } },
  },
  {
    files: ['electron/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['electron', 'electron/*'], message: 'The engine runs in plain Node: it must never import electron.' },
          { group: ['**/renderer/**', '**/headless/**', '**/main/**', '**/preload/**'], message: 'The engine may import only shared/, node:* and npm packages.' },
        ],
      }],
      'no-restricted-syntax': ['error', {
        selector: "CallExpression[callee.object.name='console']",
        message: 'The engine reports through events and return values, never by printing.',
      }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: nodeBuiltins, message: 'shared/ is imported by the renderer too: no Node built-ins.' },
          { group: ['electron', '**/electron/**', '**/renderer/**'], message: 'shared/ imports nothing outside shared/.' },
        ],
      }],
    },
  },
  {
    files: ['electron/headless/**/*.ts', 'electron/main/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/engine/*/**', '**/engine/*', '!**/engine/index'], message: 'Use the engine only through electron/engine/index.ts.' },
          { group: ['**/renderer/**'], message: 'The shell talks to the UI through shared/api, not by importing it.' },
        ],
      }],
    },
  },
  {
    files: ['electron/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: nodeBuiltins, message: 'The preload script is sandboxed: no Node built-ins.' },
          { group: ['**/engine/**', '**/renderer/**', '**/headless/**', '**/main/**'], message: 'The preload imports shared/ types and electron only.' },
        ],
      }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: [...nodeBuiltins, 'electron'], message: 'The renderer is sandboxed: it talks to the engine only through shared/api.' },
          { group: ['**/electron/**'], message: 'The renderer imports shared/ only.' },
        ],
      }],
    },
  },
);
