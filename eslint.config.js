import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

// Layering: shared is platform-free, the renderer runs in a plain browser,
// and the core runs headless — only electron/*.ts glue may touch Electron.
const nodeBuiltins = { group: ['node:*'], message: 'This code must run in a browser: no Node built-ins.' }
const electronImport = { name: 'electron', message: 'Only the Electron glue in electron/*.ts may import electron.' }

/** Files in electron/core/<folder>/ may not import the core folders in `forbidden`. */
function coreLayer(folder, forbidden) {
  const names = forbidden.join('|')
  return {
    files: [`electron/core/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electronImport],
          patterns: [
            {
              regex: `^(\\.\\./)+(${names})(/|$)`,
              message: `electron/core/${folder} may not import ${forbidden.join(', ')}: core layers point one way (see eslint.config.js).`
            }
          ]
        }
      ]
    }
  }
}

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
  // One direction per core folder: api → router → (reputation, earnings) → p2p → runtime, hardware → runtime.
  coreLayer('runtime', ['p2p', 'router', 'api', 'hardware', 'reputation', 'earnings']),
  coreLayer('p2p', ['router', 'api', 'reputation', 'earnings']),
  coreLayer('hardware', ['p2p', 'router', 'api', 'reputation', 'earnings']),
  coreLayer('reputation', ['router', 'api']),
  coreLayer('earnings', ['router', 'api']),
  coreLayer('router', ['api']),
  coreLayer('util', ['runtime', 'p2p', 'hardware', 'reputation', 'earnings', 'router', 'api']),
  {
    files: ['electron/worker/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electronImport],
          patterns: [{ regex: '^(\\.\\./)+core(/|$)', message: 'The worker runs in a container: it imports nothing from the core (put what both need in shared/).' }]
        }
      ]
    }
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
