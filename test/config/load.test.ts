import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, configPathFrom, loadConfig } from '../../src/config/load.ts'
import { tempDir } from '../helpers/store.ts'

const dir = tempDir('agentwatch-config-')
function file(name: string, text: string): string {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}
function loadError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('gives the defaults without a file', () => {
    const c = loadConfig({ env: {} })
    expect(c.api.port).toBe(8080)
    expect(c.kafka.enabled).toBe(false)
    expect(c.policy.high).toEqual(['notify_owner', 'quarantine'])
  })

  it('reads YAML and JSON', () => {
    const y = loadConfig({ path: file('a.yaml', 'risk:\n  halfLifeMinutes: 30\napi:\n  port: 9000\n'), env: {} })
    expect(y.risk.halfLifeMinutes).toBe(30)
    expect(y.api.port).toBe(9000)
    const j = loadConfig({ path: file('a.json', '{"demo": true}'), env: {} })
    expect(j.demo).toBe(true)
  })

  it('lists every problem of an invalid file, each with its path', () => {
    const p = file(
      'bad.yaml',
      [
        'risk:',
        '  halfLifeMinutes: -5',
        '  thresholds: { low: 60, medium: 50, high: 80 }',
        '  typo: 1',
        'policy:',
        '  high: [quarantine, explode]',
        'api:',
        '  keys:',
        '    - { name: ops, role: root, key: short }',
        'baselines:',
        '  dormantAfterMinutes: 0.5',
        'unknownSection: {}',
      ].join('\n'),
    )
    const err = loadError(() => loadConfig({ path: p, env: {} }))
    expect(err.source).toBe(p)
    expect(err.issues.map((i) => i.path).sort()).toEqual([
      'api.keys.0.key',
      'api.keys.0.role',
      'baselines.dormantAfterMinutes',
      'policy.high.1',
      'risk.halfLifeMinutes',
      'risk.thresholds',
      'risk.typo',
      'unknownSection',
    ])
    expect(err.issues.find((i) => i.path === 'api.keys.0.key')?.message).toBe('API keys must be at least 16 characters')
    expect(err.issues.find((i) => i.path === 'baselines.dormantAfterMinutes')?.message).toBe('dormantAfterMinutes must be 0 (never) or at least 1')
    expect(err.message).toContain('8 problems')
    expect(err.message).toContain('risk.typo: unknown key')
  })

  it('reports YAML syntax errors with their position', () => {
    const err = loadError(() => loadConfig({ path: file('syntax.yaml', 'risk:\n  halfLifeMinutes: [1, 2\n'), env: {} }))
    expect(err.issues.length).toBeGreaterThan(0)
    expect(err.issues[0].message).toMatch(/^YAML line \d+ column \d+/)
  })

  it('reports a missing file and a document that is not a mapping', () => {
    expect(loadError(() => loadConfig({ path: join(dir, 'missing.yaml'), env: {} })).issues[0].message).toContain('cannot read file')
    expect(loadError(() => loadConfig({ path: file('list.yaml', '- a\n- b\n'), env: {} })).issues[0].message).toContain('mapping')
  })

  it('applies environment overrides over the file', () => {
    const p = file('env.yaml', 'store:\n  database: fromfile\n  dataDir: /file\napi:\n  port: 9000\n  keys:\n    - { name: filekey, role: admin, key: file-key-0123456789 }\n')
    const c = loadConfig({
      path: p,
      env: {
        CLICKHOUSE_URL: 'http://ch:8123',
        CLICKHOUSE_USER: 'aw',
        CLICKHOUSE_PASSWORD: 's3cret',
        CLICKHOUSE_DATABASE: 'fromenv',
        AGENTWATCH_DATA_DIR: '/env',
        KAFKA_BROKERS: 'k1:9092, k2:9092',
        AGENTWATCH_API_PORT: '9100',
        AGENTWATCH_API_KEYS: 'ann:analyst:ann-key-0123456789,ops:operator:ops:key:with:colons',
      },
    })
    expect(c.store).toMatchObject({ url: 'http://ch:8123', username: 'aw', password: 's3cret', database: 'fromenv', dataDir: '/env' })
    expect(c.kafka.enabled).toBe(true)
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092'])
    expect(c.api.port).toBe(9100)
    expect(c.api.keys).toEqual([
      { name: 'ann', role: 'analyst', key: 'ann-key-0123456789' },
      { name: 'ops', role: 'operator', key: 'ops:key:with:colons' },
    ])
  })

  it('lists bad environment values together with file problems, without echoing secrets', () => {
    const err = loadError(() =>
      loadConfig({
        path: file('env-bad.yaml', 'demo: maybe\n'),
        env: { AGENTWATCH_API_PORT: 'eighty', AGENTWATCH_API_KEYS: 'justonesecretvalue,bob:superuser:bob-key-0123456789', CLICKHOUSE_URL: 'not a url' },
      }),
    )
    expect(err.issues.map((i) => i.path).sort()).toEqual(['api.keys.0.role', 'demo', 'env.AGENTWATCH_API_KEYS.0', 'env.AGENTWATCH_API_PORT', 'store.url'])
    expect(err.message).not.toContain('justonesecretvalue')
  })
})

describe('configPathFrom', () => {
  it('prefers the command line over AGENTWATCH_CONFIG', () => {
    expect(configPathFrom(['serve', '--config', 'a.yaml'], { AGENTWATCH_CONFIG: 'b.yaml' })).toBe('a.yaml')
    expect(configPathFrom(['serve', '--config=c.yaml'], {})).toBe('c.yaml')
    expect(configPathFrom(['serve'], { AGENTWATCH_CONFIG: 'b.yaml' })).toBe('b.yaml')
    expect(configPathFrom(['serve'], {})).toBeUndefined()
  })
})
