/** Each test file gets its own chDB data folder (chDB binds one folder per process). */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inject } from 'vitest'
import { ConfigSchema, type Config, type ConfigInput } from '../../schemas/config.ts'

/** A fresh folder inside the run's temporary folder (test/setup/tmp.ts), removed after the run. */
export function tempDir(prefix = 'agentwatch-test-'): string {
  return mkdtempSync(join(inject('testTmpRoot') || tmpdir(), prefix))
}

/** A validated config over defaults, with the store in a fresh folder and quick flushes. */
export function testConfig(overrides: ConfigInput = {}, dataDir = tempDir()): Config {
  return ConfigSchema.parse({
    ...overrides,
    store: { dataDir, flushMs: 50, ...(overrides.store ?? {}) },
  })
}
