/** `agentwatch replay` as a user runs it: a real child process on a simulated, labelled fleet. */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync, appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/store.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const agentwatch = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

const withoutWallClock = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const { detectedAt, ...rest } = JSON.parse(l)
      expect(Number.isFinite(Date.parse(detectedAt))).toBe(true)
      return JSON.stringify(rest)
    })

describe('agentwatch replay', () => {
  it('gives the same risk events for the same file, and keeps invalid lines as dead letters', () => {
    const dir = tempDir()
    const fleet = join(dir, 'fleet.ndjson')
    agentwatch('simulate', '--seed', '5', '--agents', '40', '--days', '10', '--out', fleet, '--labels', join(dir, 'labels.json'))
    appendFileSync(fleet, '{"kind":"tool_call","eventId":"broken-1"}\nnot json at all\n')
    agentwatch('replay', fleet, '--risk-out', join(dir, 'a.ndjson'))
    agentwatch('replay', fleet, '--risk-out', join(dir, 'b.ndjson'))

    const a = withoutWallClock(join(dir, 'a.ndjson'))
    const b = withoutWallClock(join(dir, 'b.ndjson'))
    expect(a.length).toBeGreaterThan(0)
    expect(b).toEqual(a)
    const ids = a.map((l) => JSON.parse(l).riskEventId)
    expect(new Set(ids).size).toBe(ids.length)

    const dead = readFileSync(join(dir, 'a.ndjson.dead-letters'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    expect(dead.map((d) => d.payload)).toEqual(['{"kind":"tool_call","eventId":"broken-1"}', 'not json at all'])
    expect(dead[0].reason).toContain('agent: required')
    expect(dead[1].reason).toContain('not valid JSON')
  }, 120_000)

  it('refuses a missing --risk-out with a usage error', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'x.ndjson'), '')
    expect(() => agentwatch('replay', join(dir, 'x.ndjson'))).toThrow(/--risk-out/)
  })
})
