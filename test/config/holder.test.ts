import { describe, expect, it } from 'vitest'
import { ConfigSchema } from '../../schemas/config.ts'
import type { ConfigVersion } from '../../src/api/deps.ts'
import { ConfigHolder } from '../../src/config/holder.ts'

const T0 = Date.parse('2026-03-02T09:00:00.000Z')

describe('ConfigHolder', () => {
  it('starts at version 1 and persists it', async () => {
    const saved: ConfigVersion[] = []
    const h = new ConfigHolder(ConfigSchema.parse({}), { persistence: { saveVersion: (v) => void saved.push(v) }, now: () => T0 })
    expect((await h.versions()).map((v) => [v.version, v.by, v.at])).toEqual([[1, 'startup', '2026-03-02T09:00:00.000Z']])
    expect(saved.map((v) => v.version)).toEqual([1])
  })

  it('validates a partial config merged over the current one, listing every issue', () => {
    const h = new ConfigHolder(ConfigSchema.parse({}))
    const ok = h.validate({ risk: { thresholds: { high: 95 } } })
    expect(ok.ok && ok.config.risk.thresholds).toEqual({ low: 25, medium: 50, high: 95 })
    const bad = h.validate({ risk: { thresholds: { medium: 10 }, sweepMinutes: 0 }, bogus: 1 })
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.issues.sort()).toEqual(['bogus: unknown key', 'risk.sweepMinutes: Too small: expected number to be >0', 'risk.thresholds: thresholds must rise: low < medium < high'])
  })

  it('update applies a new version, tells listeners and persists; a bad one changes nothing', async () => {
    const saved: ConfigVersion[] = []
    const h = new ConfigHolder(ConfigSchema.parse({}), { persistence: { saveVersion: (v) => void saved.push(v) } })
    const seen: [number, number, number][] = []
    h.onChange((next, prev, v) => seen.push([v.version, prev.risk.halfLifeMinutes, next.risk.halfLifeMinutes]))
    expect(await h.update({ risk: { halfLifeMinutes: 15 } }, 'alice')).toEqual({ ok: true, version: 2 })
    expect(h.current().risk.halfLifeMinutes).toBe(15)
    const before = h.current()
    const bad = await h.update({ risk: { halfLifeMinutes: -1 } }, 'alice')
    expect(bad.ok).toBe(false)
    expect(h.current()).toBe(before)
    expect(seen).toEqual([[2, 60, 15]])
    expect(saved.map((v) => [v.version, v.by])).toEqual([[1, 'startup'], [2, 'alice']])
    expect((await h.versions()).map((v) => v.version)).toEqual([1, 2])
  })

  it('replacing the arrays of a config replaces, it does not append', async () => {
    const h = new ConfigHolder(ConfigSchema.parse({}))
    await h.update({ policy: { high: ['throttle'] } }, 'alice')
    expect(h.current().policy.high).toEqual(['throttle'])
  })

  it('continues numbering from restored versions and adds none when the config is unchanged', async () => {
    const c = ConfigSchema.parse({})
    const restored: ConfigVersion[] = [
      { version: 6, at: 'x', by: 'alice', config: ConfigSchema.parse({ demo: true }) },
      { version: 7, at: 'y', by: 'bob', config: c },
    ]
    const same = new ConfigHolder(c, { restored })
    expect((await same.versions()).map((v) => v.version)).toEqual([6, 7])
    const changed = new ConfigHolder(ConfigSchema.parse({ demo: true }), { restored })
    expect((await changed.versions()).map((v) => v.version)).toEqual([6, 7, 8])
  })

  it('a failing listener does not stop the others', async () => {
    const h = new ConfigHolder(ConfigSchema.parse({}))
    let called = false
    h.onChange(() => {
      throw new Error('boom')
    })
    h.onChange(() => (called = true))
    await h.update({ demo: true }, 'alice')
    expect(called).toBe(true)
  })
})
