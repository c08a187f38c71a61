import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { configRows, renderConfigDocs } from '../../src/config/docs.ts'

describe('config reference', () => {
  it('has a row per field with type, default and description', () => {
    const rows = new Map(configRows().map((r) => [r.path, r]))
    expect(rows.get('risk.halfLifeMinutes')).toMatchObject({ type: 'number (> 0)', default: 60, description: expect.stringContaining('Minutes') })
    expect(rows.get('policy.quarantineMinutes')).toMatchObject({ default: null })
    expect(rows.get('api.keys[].role')?.type).toContain('"operator"')
    expect(rows.get('kafka.topics.risk')?.default).toBe('agent.risk')
  })

  it('docs/config.md is up to date with the schema', () => {
    expect(readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8')).toBe(renderConfigDocs())
  })
})
