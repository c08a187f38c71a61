/**
 * vitest global setup: one real Kafka broker for the whole run.
 *
 * - KAFKA_BROKERS already set: those brokers are used, nothing is started.
 * - AGENTWATCH_SKIP_KAFKA=1: nothing is started; Kafka tests skip (fast unit loops).
 * - Otherwise, if the run includes a test that uses the broker (test/helpers/kafka.ts), a broker
 *   is started with scripts/kafka.sh on free loopback ports with its own temporary data folder,
 *   and stopped (folder removed) in teardown. The first run on a machine fetches the jars with
 *   Maven (about a minute); later runs start in a few seconds.
 *
 * If the broker cannot be started, Kafka tests are skipped with a warning, unless
 * AGENTWATCH_SKIP_KAFKA=0 was set explicitly, which makes it an error.
 * Test files read the brokers with `inject('kafkaBrokers')` (empty string = no broker).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'
import { startLocalBroker, type LocalBroker } from '../../src/util/local-broker.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Comma-separated host:port of the test broker; empty when there is none. */
    kafkaBrokers: string
  }
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function testFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name)
    if (d.isDirectory()) return d.name === 'node_modules' ? [] : testFiles(p)
    return d.name.endsWith('.test.ts') ? [p] : []
  })
}

/**
 * Whether this run selects a test file that uses the broker. Filters are the CLI's positional
 * arguments (vitest matches them as substrings of the file path); an argument right after an
 * option is taken as that option's value. When unsure, the answer is yes.
 */
function runNeedsBroker(): boolean {
  const args = process.argv.slice(2)
  const filters: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a.startsWith('-')) {
      if (!a.includes('=') && i + 1 < args.length && !args[i + 1]!.startsWith('-')) i++
      continue
    }
    if (['run', 'watch', 'dev', 'related', 'bench'].includes(a) && filters.length === 0) continue
    filters.push(a)
  }
  const users = testFiles(join(ROOT, 'test')).filter((f) => {
    try {
      return /helpers\/kafka(\.ts)?['"]/.test(readFileSync(f, 'utf8'))
    } catch {
      return true
    }
  })
  if (filters.length === 0) return users.length > 0
  return users.some((f) => {
    const rel = relative(ROOT, f)
    return filters.some((flt) => rel.includes(flt.replace(/^\.\//, '')) || f.includes(flt))
  })
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.KAFKA_BROKERS?.trim()
  if (given) {
    project.provide('kafkaBrokers', given)
    return undefined
  }
  const skip = process.env.AGENTWATCH_SKIP_KAFKA
  if (skip === '1' || skip === 'true' || (skip !== '0' && !runNeedsBroker())) {
    project.provide('kafkaBrokers', '')
    return undefined
  }

  const began = Date.now()
  let broker: LocalBroker
  try {
    broker = await startLocalBroker()
  } catch (err) {
    if (skip === '0') throw err
    console.warn(`[kafka] test broker did not start (${(err as Error).message}); Kafka tests will be skipped`)
    project.provide('kafkaBrokers', '')
    return undefined
  }
  const brokers = broker.brokers.join(',')
  console.log(`[kafka] test broker on ${brokers} ready in ${((Date.now() - began) / 1000).toFixed(1)} s (data ${broker.dataDir})`)
  process.env.KAFKA_BROKERS = brokers
  project.provide('kafkaBrokers', brokers)

  return async () => {
    try {
      // Keep the folder (and its logs) when asked to, for a failure that needs a look.
      await broker.stop({ keepData: process.env.AGENTWATCH_KEEP_KAFKA_DATA === '1' })
    } finally {
      delete process.env.KAFKA_BROKERS
    }
  }
}
