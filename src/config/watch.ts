/**
 * Reload the config file when it changes (fs.watch, debounced) and on SIGHUP. A reload goes through
 * the same loading as start-up (file + environment + validation); a file that does not validate is
 * refused with every problem logged, and the running config stays as it was.
 *
 * Connection settings (api.host, api.port, store, kafka) are read once when the service starts;
 * a reload that changes them is applied to the holder but logged as needing a restart.
 */
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import type { Config } from '../../schemas/config.ts'
import { log as defaultLog, type Logger } from '../util/log.ts'
import type { ConfigHolder } from './holder.ts'
import { ConfigError, loadConfig, type Env } from './load.ts'

export interface WatchOptions {
  path: string
  holder: ConfigHolder
  env?: Env
  /** Wait this long after the last file event before reloading; editors write in bursts. Milliseconds. */
  debounceMs?: number
  /** Reload on SIGHUP as well. Default true. */
  sighup?: boolean
  logger?: Logger
}

export type ReloadOutcome =
  | { status: 'applied'; version: number }
  | { status: 'unchanged' }
  | { status: 'rejected'; issues: { path: string; message: string }[] }

export interface ConfigWatcher {
  /** Reload now; what the file watcher and SIGHUP call. */
  reload(trigger?: string): ReloadOutcome
  close(): void
}

const RESTART_SECTIONS = ['store', 'kafka'] as const

function restartNeeded(prev: Config, next: Config): string[] {
  const changed: string[] = RESTART_SECTIONS.filter((s) => JSON.stringify(prev[s]) !== JSON.stringify(next[s]))
  if (prev.api.host !== next.api.host) changed.push('api.host')
  if (prev.api.port !== next.api.port) changed.push('api.port')
  return changed
}

export function watchConfig(opts: WatchOptions): ConfigWatcher {
  const logger = opts.logger ?? defaultLog
  const path = resolve(opts.path)
  const debounceMs = opts.debounceMs ?? 250
  let timer: NodeJS.Timeout | undefined

  const reload = (trigger = 'manual'): ReloadOutcome => {
    let next: Config
    try {
      next = loadConfig({ path, env: opts.env })
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      logger.error({ path, trigger, issues: err.issues }, 'config reload rejected; keeping the running config')
      return { status: 'rejected', issues: err.issues }
    }
    const prev = opts.holder.current()
    const version = opts.holder.replace(next, `reload:${trigger}`)
    if (!version) {
      logger.debug({ path, trigger }, 'config file reloaded; nothing changed')
      return { status: 'unchanged' }
    }
    const restart = restartNeeded(prev, next)
    if (restart.length) logger.warn({ path, sections: restart }, 'config reloaded; these settings apply after a restart')
    logger.info({ path, trigger, version: version.version }, 'config reloaded')
    return { status: 'applied', version: version.version }
  }

  const schedule = () => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      try {
        reload('file')
      } catch (err) {
        logger.error({ err, path }, 'config reload failed')
      }
    }, debounceMs)
  }

  // Watch the folder, not the file: editors and config managers replace the file by renaming a new
  // one over it, which ends a watch on the old inode.
  const name = basename(path)
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(dirname(path), (_event, file) => {
      if (file === null || file.toString() === name) schedule()
    })
    watcher.on('error', (err) => logger.error({ err, path }, 'config file watch failed'))
  } catch (err) {
    logger.error({ err, path }, 'cannot watch the config file; reload with SIGHUP')
  }

  const onHup = () => {
    try {
      reload('sighup')
    } catch (err) {
      logger.error({ err, path }, 'config reload failed')
    }
  }
  if (opts.sighup !== false) process.on('SIGHUP', onHup)

  return {
    reload,
    close() {
      if (timer) clearTimeout(timer)
      watcher?.close()
      process.off('SIGHUP', onHup)
    },
  }
}
