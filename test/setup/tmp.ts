/**
 * vitest global setup: one temporary folder for the whole run, removed in teardown.
 *
 * Every test file's chDB data folder, config files and child-process folders are made inside it
 * (test/helpers/store.ts `tempDir`), so a run leaves nothing behind in the system's temporary
 * folder: each chDB folder is ~10 MB, and a full run makes dozens. Set AGENTWATCH_KEEP_TEST_TMP=1
 * to keep it for a failure that needs a look (its path is printed).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's temporary folder; test files make theirs inside it. */
    testTmpRoot: string
  }
}

export default function setup(project: TestProject): () => void {
  const root = mkdtempSync(join(tmpdir(), 'agentwatch-test-run-'))
  project.provide('testTmpRoot', root)
  return () => {
    if (process.env.AGENTWATCH_KEEP_TEST_TMP === '1') console.log(`[tmp] kept ${root}`)
    else rmSync(root, { recursive: true, force: true })
  }
}
