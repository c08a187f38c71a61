/**
 * Every registered detector against its fixture (detectors/fixtures/<name>.ts): after learning the
 * history, each `fires` probe must score at least FIRES and each `quiet` probe below QUIET or
 * abstain; every finding must be well formed; states must survive a JSON round trip; scoring must
 * not change any state.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { DETECTORS } from '../../detectors/index.ts'
import type { DetectorFixture } from '../../detectors/fixtures/kit.ts'
import { DetectorHarness } from '../../detectors/fixtures/harness.ts'
import type { Finding } from '../../detectors/types.ts'

/** Probes that must fire reach at least medium on their own (unless the fixture says less); quiet ones stay below low. */
const FIRES = 0.5
const QUIET = 0.25

const fixtureUrl = (name: string) => new URL(`../../detectors/fixtures/${name}.ts`, import.meta.url)

function expectWellFormed(f: Finding): void {
  expect(f.score).toBeGreaterThanOrEqual(0)
  expect(f.score).toBeLessThanOrEqual(1)
  expect(f.reason.trim().length).toBeGreaterThan(0)
  expect(f.observation.length).toBeGreaterThan(0)
  expect(Object.keys(f.evidence).length).toBeGreaterThan(0)
}

describe.each(DETECTORS.map((d) => [d.name, d] as const))('%s', (name, detector) => {
  it('has a fixture', () => {
    expect(existsSync(fileURLToPath(fixtureUrl(name))), `detectors/fixtures/${name}.ts is missing`).toBe(true)
  })

  it('fires on its attacks and stays quiet on benign behaviour', async () => {
    const { fixture } = (await import(fixtureUrl(name).href)) as { fixture: DetectorFixture }
    expect(fixture.fires.length).toBeGreaterThan(0)
    expect(fixture.quiet.length).toBeGreaterThan(0)

    const harness = new DetectorHarness(detector).learnAll(fixture.history)
    const before = harness.snapshot()
    harness.roundTrip()
    expect(harness.snapshot(), 'state must be plain JSON').toBe(before)

    const failures: string[] = []
    for (const probe of fixture.fires) {
      const f = harness.score(probe.event)
      if (f) expectWellFormed(f)
      if (!f || f.score < (fixture.firesAt ?? FIRES)) failures.push(`should fire: ${probe.why} -> ${f ? `${f.score} (${f.reason})` : 'abstained'}`)
    }
    for (const probe of fixture.quiet) {
      const f = harness.score(probe.event)
      if (f) expectWellFormed(f)
      if (f && f.score >= QUIET) failures.push(`should stay quiet: ${probe.why} -> ${f.score} (${f.reason})`)
    }
    expect(failures).toEqual([])
    expect(harness.snapshot(), 'score must not change any state').toBe(before)
  })
})
