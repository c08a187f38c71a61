import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigHolder } from '../../src/config/holder.ts'
import { loadConfig } from '../../src/config/load.ts'
import { watchConfig, type ConfigWatcher } from '../../src/config/watch.ts'
import { log } from '../../src/util/log.ts'
import { tempDir } from '../helpers/store.ts'

type Captured = { level: string; fields: Record<string, unknown>; msg: string }

function capturingLogger() {
  const lines: Captured[] = []
  const logger = log.child({})
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    ;(logger as unknown as Record<string, unknown>)[level] = (fields: Record<string, unknown>, msg: string) => lines.push({ level, fields, msg })
  }
  return { logger, lines }
}

const waitFor = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

let watcher: ConfigWatcher | undefined
afterEach(() => watcher?.close())

function setup(initial: string) {
  const dir = tempDir('agentwatch-watch-')
  const path = join(dir, 'agentwatch.yaml')
  writeFileSync(path, initial)
  const holder = new ConfigHolder(loadConfig({ path, env: {} }))
  const { logger, lines } = capturingLogger()
  watcher = watchConfig({ path, holder, env: {}, debounceMs: 30, logger })
  return { dir, path, holder, lines }
}

describe('config reload', () => {
  it('applies a valid file change', async () => {
    const { path, holder } = setup('risk:\n  halfLifeMinutes: 60\n')
    writeFileSync(path, 'risk:\n  halfLifeMinutes: 20\n')
    await waitFor(() => holder.current().risk.halfLifeMinutes === 20)
    expect((await holder.versions()).at(-1)?.by).toBe('reload:file')
  })

  it('keeps the running config on a bad file and logs every issue', async () => {
    const { path, holder, lines } = setup('risk:\n  halfLifeMinutes: 60\n')
    const before = holder.current()
    writeFileSync(path, 'risk:\n  halfLifeMinutes: -1\n  typo: 2\npolicy:\n  high: [nuke]\n')
    await waitFor(() => lines.some((l) => l.level === 'error'))
    expect(holder.current()).toBe(before)
    const rejected = lines.find((l) => l.level === 'error')!
    expect(rejected.msg).toContain('keeping the running config')
    expect((rejected.fields.issues as { path: string }[]).map((i) => i.path).sort()).toEqual(['policy.high.0', 'risk.halfLifeMinutes', 'risk.typo'])
    // A later good file is picked up again.
    writeFileSync(path, 'risk:\n  halfLifeMinutes: 45\n')
    await waitFor(() => holder.current().risk.halfLifeMinutes === 45)
  })

  it('follows a file replaced by rename, as editors and config managers do', async () => {
    const { dir, path, holder } = setup('demo: false\n')
    const tmp = join(dir, '.agentwatch.yaml.tmp')
    writeFileSync(tmp, 'demo: true\n')
    renameSync(tmp, path)
    await waitFor(() => holder.current().demo === true)
  })

  it('reloads on SIGHUP', async () => {
    const { path, holder } = setup('demo: false\n')
    watcher!.close()
    const { logger } = capturingLogger()
    // No file watch here: only the signal can trigger the reload.
    watcher = watchConfig({ path, holder, env: {}, debounceMs: 60_000, logger })
    writeFileSync(path, 'demo: true\n')
    process.kill(process.pid, 'SIGHUP')
    await waitFor(() => holder.current().demo === true)
  })

  it('reports an unchanged file without a new version, and warns when a restart is needed', async () => {
    const { path, holder, lines } = setup('api:\n  port: 9000\n')
    expect(watcher!.reload('test')).toEqual({ status: 'unchanged' })
    writeFileSync(path, 'api:\n  port: 9001\n')
    expect(watcher!.reload('test')).toMatchObject({ status: 'applied', version: 2 })
    expect(lines.find((l) => l.level === 'warn')?.fields.sections).toEqual(['api.port'])
    expect(holder.current().api.port).toBe(9001)
  })
})
