/**
 * The live configuration: what `current()` returns is what every component reads at the moment it
 * needs a setting, so an update or a file reload applies without a restart (connection settings
 * excepted; see watch.ts). Each accepted change becomes a numbered version, kept in memory and
 * handed to a persistence port so the service can store it (config_versions) and restore it.
 *
 * Implements the `config` port of AppDeps.
 */
import { ConfigSchema, type Config, type ConfigInput } from '../../schemas/config.ts'
import type { ConfigVersion } from '../api/deps.ts'
import { log } from '../util/log.ts'
import { formatIssue, issuesFromZod } from './issues.ts'
import { deepMerge } from './merge.ts'

export interface ConfigPersistence {
  saveVersion(v: ConfigVersion): void | Promise<void>
}

export type ConfigListener = (next: Config, previous: Config, version: ConfigVersion) => void

export interface ConfigHolderOptions {
  persistence?: ConfigPersistence
  /** Who produced the initial configuration, recorded on version 1. */
  by?: string
  /** Versions restored from storage, oldest first; the newest one becomes current. */
  restored?: ConfigVersion[]
  /** Wall clock, epoch ms; injectable for tests. */
  now?: () => number
  /** Versions kept in memory; older ones remain only in persistence. */
  keep?: number
}

export class ConfigHolder {
  private config: Config
  private readonly history: ConfigVersion[] = []
  private readonly listeners = new Set<ConfigListener>()
  private readonly persistence?: ConfigPersistence
  private readonly now: () => number
  private readonly keep: number

  constructor(initial: Config, opts: ConfigHolderOptions = {}) {
    this.persistence = opts.persistence
    this.now = opts.now ?? Date.now
    this.keep = opts.keep ?? 100
    this.config = initial
    if (opts.restored?.length) {
      this.history.push(...opts.restored.slice(-this.keep))
    }
    // The running config is always a stored version, so `versions()` shows what is running even
    // when the file changed since the last stored version; an unchanged restart adds nothing.
    const last = this.history[this.history.length - 1]
    if (!last || JSON.stringify(last.config) !== JSON.stringify(initial)) {
      void this.persist(this.record(initial, opts.by ?? 'startup'))
    }
  }

  current(): Config {
    return this.config
  }

  /** Validate a full or partial config merged over the current one; lists every problem. */
  validate(input: unknown): { ok: true; config: Config } | { ok: false; issues: string[] } {
    const parsed = ConfigSchema.safeParse(deepMerge(this.config, input))
    if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error).map(formatIssue) }
    return { ok: true, config: parsed.data }
  }

  /** Validate a partial config merged over the current one and apply it as a new version. */
  async update(input: ConfigInput | Record<string, unknown>, by: string): Promise<{ ok: true; version: number } | { ok: false; issues: string[] }> {
    const v = this.validate(input)
    if (!v.ok) return v
    const version = this.apply(v.config, by)
    await this.persist(version)
    return { ok: true, version: version.version }
  }

  /**
   * Replace the whole configuration with an already validated one (a file reload). Returns the new
   * version, or undefined when nothing changed.
   */
  replace(config: Config, by: string): ConfigVersion | undefined {
    if (JSON.stringify(config) === JSON.stringify(this.config)) return undefined
    const version = this.apply(config, by)
    void this.persist(version)
    return version
  }

  async versions(): Promise<ConfigVersion[]> {
    return [...this.history]
  }

  /** Called after every applied change; returns a function that removes the listener. */
  onChange(fn: ConfigListener): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private apply(next: Config, by: string): ConfigVersion {
    const previous = this.config
    this.config = next
    const version = this.record(next, by)
    for (const fn of this.listeners) {
      try {
        fn(next, previous, version)
      } catch (err) {
        // One faulty listener must not stop the others from seeing the change.
        log.error({ err, version: version.version }, 'config listener failed')
      }
    }
    return version
  }

  private record(config: Config, by: string): ConfigVersion {
    const last = this.history[this.history.length - 1]
    const version: ConfigVersion = { version: (last?.version ?? 0) + 1, at: new Date(this.now()).toISOString(), by, config }
    this.history.push(version)
    if (this.history.length > this.keep) this.history.splice(0, this.history.length - this.keep)
    return version
  }

  private async persist(version: ConfigVersion): Promise<void> {
    if (!this.persistence) return
    try {
      await this.persistence.saveVersion(version)
    } catch (err) {
      // The change is live either way; losing its stored copy must not undo it.
      log.error({ err, version: version.version }, 'config version not persisted')
    }
  }
}
