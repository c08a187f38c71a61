import { defineConfig } from 'vitest/config'

// chDB binds one data folder per process, so every test file runs in its own forked process
// and opens its own temporary folder (test/helpers/store.ts), inside the run's (test/setup/tmp.ts).
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    globalSetup: ['test/setup/tmp.ts', 'test/setup/kafka.ts'],
  },
})
