/**
 * A single-node Kafka broker on loopback for tests and benchmarks: scripts/kafka.sh started on free
 * ports with its own temporary data folder, killed if the process exits first, and stopped (folder
 * removed unless kept) on `stop()`.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const SCRIPT = join(ROOT, 'scripts/kafka.sh')

export interface LocalBroker {
  /** host:port to bootstrap from. */
  brokers: string[]
  /** Data and logs of this broker. */
  dataDir: string
  /** The broker's process id. */
  pid: number
  /** Stops the broker; the data folder is removed unless `keepData`. */
  stop(opts?: { keepData?: boolean }): Promise<void>
}

export function freePort(): Promise<number> {
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
    // stderr is inherited so a first-time Maven fetch or a start failure is visible.
    const child = spawn('bash', [SCRIPT, ...args], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] })
    child.on('error', rej)
    child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`scripts/kafka.sh ${args.join(' ')} exited with ${code}`))))
  })
}

/**
 * Starts a broker; rejects (leaving nothing running) when it does not come up. `jvmOpts` replaces
 * scripts/kafka.sh's default JVM options (KAFKA_JVM_OPTS).
 */
export async function startLocalBroker(prefix = 'agentwatch-kafka-', opts: { jvmOpts?: string } = {}): Promise<LocalBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix))
  const port = await freePort()
  let controllerPort = await freePort()
  while (controllerPort === port) controllerPort = await freePort()
  const env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_DATA_DIR: dataDir,
    ...(opts.jvmOpts !== undefined ? { KAFKA_JVM_OPTS: opts.jvmOpts } : {}),
  }
  // If this process dies before stop(), do not leave a broker behind.
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
    throw Object.assign(new Error(`Kafka broker did not start; logs in ${dataDir}/logs`, { cause: err }), { dataDir })
  }
  process.once('exit', killOnExit)
  return {
    brokers: [`127.0.0.1:${port}`],
    dataDir,
    pid: Number(readFileSync(join(dataDir, 'kafka.pid'), 'utf8')),
    stop: async (opts = {}) => {
      try {
        await kafkaScript(['stop'], env)
      } finally {
        process.removeListener('exit', killOnExit)
        if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true })
      }
    },
  }
}
