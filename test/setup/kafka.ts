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
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Comma-separated host:port of the test broker; empty when there is none. */
    kafkaBrokers: string
  }
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const SCRIPT = join(ROOT, 'scripts/kafka.sh')

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))))
    })
  })
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((res, rej) => {
    // stdout/stderr are inherited so a first-time Maven fetch or a start failure is visible.
    const child = spawn('bash', [SCRIPT, ...args], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] })
    child.on('error', rej)
    child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`scripts/kafka.sh ${args.join(' ')} exited with ${code}`))))
  })
}

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

  const dataDir = mkdtempSync(join(tmpdir(), 'agentwatch-kafka-'))
  const port = await freePort()
  let controllerPort = await freePort()
  while (controllerPort === port) controllerPort = await freePort()
  const env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_DATA_DIR: dataDir,
  }

  // If the run is killed before teardown, do not leave a broker behind.
  const killOnExit = () => {
    try {
      const pid = Number(readFileSync(join(dataDir, 'kafka.pid'), 'utf8'))
      if (pid > 0) process.kill(pid, 'SIGKILL')
    } catch {
      // no broker running
    }
  }

  const began = Date.now()
  try {
    await run(['start'], env)
  } catch (err) {
    killOnExit()
    if (skip === '0') throw new Error(`Kafka test broker did not start; logs in ${dataDir}/logs`, { cause: err })
    console.warn(`[kafka] test broker did not start (${(err as Error).message}); Kafka tests will be skipped. Logs in ${dataDir}/logs`)
    project.provide('kafkaBrokers', '')
    return undefined
  }
  process.once('exit', killOnExit)
  const brokers = `127.0.0.1:${port}`
  console.log(`[kafka] test broker on ${brokers} ready in ${((Date.now() - began) / 1000).toFixed(1)} s (data ${dataDir})`)
  process.env.KAFKA_BROKERS = brokers
  project.provide('kafkaBrokers', brokers)

  return async () => {
    try {
      await run(['stop'], env)
    } finally {
      process.removeListener('exit', killOnExit)
      delete process.env.KAFKA_BROKERS
      // Keep the folder (and its logs) when asked to, for a failure that needs a look.
      if (process.env.AGENTWATCH_KEEP_KAFKA_DATA !== '1') rmSync(dataDir, { recursive: true, force: true })
    }
  }
}
