/** Per-blueprint detector settings: overrides apply to their blueprint only, whatever its name. */
import { expect, it } from 'vitest'
import { validateConfig } from '../../src/config/load.ts'
import { DetectorSettingsResolver } from '../../src/pipeline/detector-settings.ts'

const names = (active: { detector: { name: string } }[]) => active.map((a) => a.detector.name)

it('an override disables or retunes a detector for its blueprint and leaves the others on the base settings', () => {
  const config = validateConfig({
    blueprintOverrides: {
      'bp-quiet': { detectors: { volume: { enabled: false } } },
      constructor: { detectors: { volume: { halfScoreDoublings: 4 } } },
    },
  })
  const resolver = new DetectorSettingsResolver(config)
  const base = resolver.forBlueprint(undefined)
  expect(names(base)).toContain('volume')
  expect(names(resolver.forBlueprint('bp-quiet'))).not.toContain('volume')
  // Merging peer states still needs every detector, enabled or not.
  expect(names(resolver.allForBlueprint('bp-quiet'))).toEqual(names(resolver.allForBlueprint(undefined)))
  const retuned = resolver.forBlueprint('constructor').find((a) => a.detector.name === 'volume')!
  expect((retuned.settings as unknown as { halfScoreDoublings: number }).halfScoreDoublings).toBe(4)
  // A blueprint without overrides, even one named like an Object.prototype member, gets the base list.
  for (const id of ['bp-other', 'toString', '__proto__', 'hasOwnProperty']) expect(resolver.forBlueprint(id)).toBe(base)
})
