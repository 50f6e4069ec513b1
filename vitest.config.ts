import { defineConfig } from 'vitest/config'

// Unit tests run in parallel; integration and e2e tests start real processes, containers and
// Chromium, so they run one file at a time on small machines.

// Every test file removes the temp dirs it made with test/helpers/temp-dir.ts once it is done.
const setupFiles = ['test/setup/temp-dirs.ts']

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles, testTimeout: 30_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          setupFiles,
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000
        }
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          setupFiles,
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000
        }
      }
    ]
  }
})
