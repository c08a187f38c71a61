/**
 * Runs one bench task in a child process and reports its result over IPC. Tasks that need their
 * own heap limit (memory), their own embedded ClickHouse folder (chDB binds one folder per process)
 * or a clean process (e2e) run here.
 *
 *   node --import tsx src/bench/child.ts <task> '<json options>'
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { tuneGarbageCollection } from '../util/gc.ts'

export type ChildTask = 'memory' | 'activity' | 'restore' | 'e2e' | 'api'

export interface ChildRunOptions {
  /** Extra node flags, e.g. --expose-gc or --max-old-space-size=MiB. */
  nodeFlags?: string[]
  env?: NodeJS.ProcessEnv
  /** Kill the child after this long. Milliseconds. */
  timeoutMs?: number
}

export type ChildOutcome<T> = { ok: true; result: T } | { ok: false; error: string; exitCode: number | null; signal: string | null; stderrTail: string }

const SELF = fileURLToPath(import.meta.url)

/** Fork this file for `task`; resolves with what the task returned or why it did not. */
export function runInChild<T>(task: ChildTask, options: unknown, run: ChildRunOptions = {}): Promise<ChildOutcome<T>> {
  return new Promise((resolve) => {
    const child = fork(SELF, [task, JSON.stringify(options)], {
      execArgv: ['--import', 'tsx', ...(run.nodeFlags ?? [])],
      env: { LOG_LEVEL: 'warn', ...process.env, ...run.env },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    })
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk)
      // Keep the tail only: an out-of-memory crash explains itself in its last lines. Characters.
      stderr = (stderr + chunk.toString('utf8')).slice(-4000)
    })
    let settled: ChildOutcome<T> | undefined
    child.on('message', (m: { ok: boolean; result?: T; error?: string }) => {
      settled = m.ok ? { ok: true, result: m.result as T } : { ok: false, error: m.error ?? 'failed', exitCode: null, signal: null, stderrTail: stderr }
    })
    const timer = run.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), run.timeoutMs) : undefined
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer)
      if (settled) return resolve(settled)
      resolve({ ok: false, error: `child exited with ${signal ?? code} before reporting`, exitCode: code, signal, stderrTail: stderr })
    })
  })
}

async function childMain(): Promise<void> {
  tuneGarbageCollection()
  const [task, json] = process.argv.slice(2)
  const options: unknown = JSON.parse(json ?? '{}')
  let result: unknown
  if (task === 'memory') result = await (await import('./memory.ts')).measureMemoryInProcess(options as never)
  else if (task === 'activity') result = await (await import('./activity.ts')).measureActivityInProcess(options as never)
  else if (task === 'restore') result = await (await import('./restore.ts')).measureRestoreInProcess(options as never)
  else if (task === 'e2e') result = await (await import('./e2e.ts')).measureE2eInProcess(options as never)
  else if (task === 'api') result = await (await import('./api.ts')).measureApiInProcess(options as never)
  else throw new Error(`unknown bench task ${task}`)
  await new Promise<void>((resolve, reject) => process.send!({ ok: true, result }, (err: Error | null) => (err ? reject(err) : resolve())))
}

if (process.argv[1] === SELF && process.send) {
  childMain().then(
    () => process.exit(0),
    (err: unknown) => {
      process.send!({ ok: false, error: (err as Error).stack ?? String(err) }, () => process.exit(1))
    },
  )
}
