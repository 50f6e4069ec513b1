import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

// Layering (DESIGN §2): shared is platform-free, the renderer runs in a plain browser,
// and the core runs headless — only electron/*.ts glue may touch Electron.
const nodeBuiltins = { group: ['node:*'], message: 'This code must run in a browser: no Node built-ins.' }
const electronImport = { name: 'electron', message: 'Only the Electron glue in electron/*.ts may import electron.' }

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'out/', 'release/', 'test-results/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: true }]
    }
  },
  {
    files: ['electron/core/**/*.ts', 'electron/worker/**/*.ts', 'electron/cli/**/*.ts', 'electron/cli*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [electronImport] }] }
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: { 'no-restricted-imports': ['error', { paths: [electronImport], patterns: [nodeBuiltins] }] }
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [electronImport, { name: 'react', message: 'shared/ is platform-free.' }], patterns: [nodeBuiltins] }
      ]
    }
  }
)
