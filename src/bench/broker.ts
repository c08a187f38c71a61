/**
 * A Kafka broker for the end-to-end bench: KAFKA_BROKERS when set, otherwise a single-node broker
 * started with scripts/kafka.sh on free loopback ports with its own temporary data folder, as the
 * test setup does, and stopped (folder removed) afterwards.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const SCRIPT = join(ROOT, 'scripts/kafka.sh')

export interface BenchBroker {
  brokers: string[]
  /** True when this process started the broker (and stop() will end it). */
  started: boolean
  stop(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no free port'))))
    })
  })
}

function kafkaScript(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((res, rej) => {
    // stderr is inherited so a first-time jar fetch or a start failure is visible.
    const child = spawn('bash', [SCRIPT, ...args], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] })
    child.on('error', rej)
    child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`scripts/kafka.sh ${args.join(' ')} exited with ${code}`))))
  })
}

export async function startBenchBroker(): Promise<BenchBroker> {
  const given = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean)
  if (given?.length) return { brokers: given, started: false, stop: async () => {} }

  const dataDir = mkdtempSync(join(tmpdir(), 'agentwatch-bench-kafka-'))
  const port = await freePort()
  let controllerPort = await freePort()
  while (controllerPort === port) controllerPort = await freePort()
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort), KAFKA_DATA_DIR: dataDir }
  // If the bench dies before stop(), do not leave a broker behind.
  const killOnExit = () => {
    try {
      const pid = Number(readFileSync(join(dataDir, 'kafka.pid'), 'utf8'))
      if (pid > 0) process.kill(pid, 'SIGKILL')
    } catch {
      // no broker running
    }
  }
  try {
    await kafkaScript(['start'], env)
  } catch (err) {
    killOnExit()
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }
  process.once('exit', killOnExit)
  return {
    brokers: [`127.0.0.1:${port}`],
    started: true,
    stop: async () => {
      try {
        await kafkaScript(['stop'], env)
      } finally {
        process.removeListener('exit', killOnExit)
        rmSync(dataDir, { recursive: true, force: true })
      }
    },
  }
}
