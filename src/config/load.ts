/**
 * Loading the configuration: a YAML or JSON file (path from `--config <path>` or AGENTWATCH_CONFIG),
 * then environment overrides for connection settings, then strict validation with ConfigSchema.
 * Every problem found on the way (file syntax, bad environment values, schema violations) is
 * collected and thrown together as one ConfigError, so an operator fixes them in one pass.
 *
 * Environment overrides (they win over the file):
 *   CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE -> store.*
 *   AGENTWATCH_DATA_DIR  -> store.dataDir
 *   KAFKA_BROKERS        -> kafka.brokers (comma-separated) and kafka.enabled = true
 *   AGENTWATCH_API_HOST  -> api.host
 *   AGENTWATCH_API_PORT  -> api.port
 *   AGENTWATCH_API_KEYS  -> api.keys, as `name:role:key,...` (replaces the file's keys)
 */
import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import YAML from 'yaml'
import { ConfigSchema, type Config } from '../../schemas/config.ts'
import { ConfigError, issuesFromZod, type ConfigIssue } from './issues.ts'
import { deepMerge, isPlainObject } from './merge.ts'

export { ConfigError, type ConfigIssue } from './issues.ts'

export type Env = Record<string, string | undefined>

/** The config file named on the command line (`--config p` or `--config=p`), else AGENTWATCH_CONFIG. */
export function configPathFrom(argv: readonly string[], env: Env = process.env): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--config' || a === '-c') return argv[i + 1]
    if (a.startsWith('--config=')) return a.slice('--config='.length)
  }
  return env.AGENTWATCH_CONFIG || undefined
}

/**
 * Parse config text. JSON when the name ends in .json, else YAML (a superset of JSON). All syntax
 * errors are reported with line and column. An empty document means "all defaults".
 */
export function parseConfigText(text: string, source = '(inline)'): unknown {
  if (extname(source).toLowerCase() === '.json') {
    try {
      return JSON.parse(text)
    } catch (err) {
      throw new ConfigError([{ path: '(root)', message: `not valid JSON: ${(err as Error).message}` }], source)
    }
  }
  const doc = YAML.parseDocument(text)
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0]
        return { path: '(root)', message: `YAML ${pos ? `line ${pos.line} column ${pos.col}: ` : ''}${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}` }
      }),
      source,
    )
  }
  const value: unknown = doc.toJS()
  return value ?? {}
}

export function readConfigFile(path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError([{ path: '(root)', message: `cannot read file: ${(err as Error).message}` }], path)
  }
  return parseConfigText(text, path)
}

/**
 * The overrides the environment asks for, as a partial config, plus any environment value that
 * cannot be understood (reported under `env.<NAME>`).
 */
export function envOverrides(env: Env): { patch: Record<string, unknown>; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = []
  const store: Record<string, unknown> = {}
  const kafka: Record<string, unknown> = {}
  const api: Record<string, unknown> = {}
  const set = (v: string | undefined, apply: (v: string) => void) => {
    if (v !== undefined && v !== '') apply(v)
  }
  set(env.CLICKHOUSE_URL, (v) => (store.url = v))
  set(env.CLICKHOUSE_USER, (v) => (store.username = v))
  set(env.CLICKHOUSE_PASSWORD, (v) => (store.password = v))
  set(env.CLICKHOUSE_DATABASE, (v) => (store.database = v))
  set(env.AGENTWATCH_DATA_DIR, (v) => (store.dataDir = v))
  set(env.KAFKA_BROKERS, (v) => {
    const brokers = v.split(',').map((b) => b.trim()).filter(Boolean)
    if (!brokers.length) issues.push({ path: 'env.KAFKA_BROKERS', message: 'no broker in the list' })
    kafka.brokers = brokers
    kafka.enabled = true
  })
  set(env.AGENTWATCH_API_HOST, (v) => (api.host = v.trim()))
  set(env.AGENTWATCH_API_PORT, (v) => {
    if (!/^\d+$/.test(v.trim())) issues.push({ path: 'env.AGENTWATCH_API_PORT', message: `not a port number: ${JSON.stringify(v)}` })
    else api.port = Number(v.trim())
  })
  set(env.AGENTWATCH_API_KEYS, (v) => {
    const keys: Record<string, string>[] = []
    v.split(',').forEach((entry, i) => {
      const e = entry.trim()
      if (!e) return
      // name:role:key — the key itself may contain ':' so only the first two separate.
      const first = e.indexOf(':')
      const second = first < 0 ? -1 : e.indexOf(':', first + 1)
      if (first <= 0 || second < 0) {
        // Never echo the entry: it may hold a secret.
        issues.push({ path: `env.AGENTWATCH_API_KEYS.${i}`, message: 'expected name:role:key' })
        return
      }
      keys.push({ name: e.slice(0, first), role: e.slice(first + 1, second), key: e.slice(second + 1) })
    })
    api.keys = keys
  })
  const patch: Record<string, unknown> = {}
  if (Object.keys(store).length) patch.store = store
  if (Object.keys(kafka).length) patch.kafka = kafka
  if (Object.keys(api).length) patch.api = api
  return { patch, issues }
}

/** Validate a raw document strictly; throws ConfigError listing every problem. */
export function validateConfig(raw: unknown, source?: string, extraIssues: ConfigIssue[] = []): Config {
  const parsed = ConfigSchema.safeParse(raw)
  const issues = [...extraIssues, ...(parsed.success ? [] : issuesFromZod(parsed.error))]
  if (issues.length || !parsed.success) throw new ConfigError(issues, source)
  return parsed.data
}

export interface LoadOptions {
  /** Config file; none = defaults plus environment. */
  path?: string
  env?: Env
}

/** Read, override from the environment, validate. Throws ConfigError with every problem found. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env
  const raw = opts.path ? readConfigFile(opts.path) : {}
  if (!isPlainObject(raw)) {
    throw new ConfigError([{ path: '(root)', message: 'the configuration must be a mapping of sections' }], opts.path)
  }
  const { patch, issues } = envOverrides(env)
  return validateConfig(deepMerge(raw, patch), opts.path ?? 'environment', issues)
}
