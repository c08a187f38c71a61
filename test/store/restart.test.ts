import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Pipeline } from '../../src/pipeline/pipeline.ts'
import { ConfigSchema } from '../../schemas/config.ts'
import { DAY, HOUR, MINUTE, T0, signin, toolCall } from '../../detectors/fixtures/kit.ts'
import type { AgentEvent } from '../../schemas/events.ts'
import { tempDir } from '../helpers/store.ts'

const CHILD = join(import.meta.dirname, 'restart-child.ts')
const toLine = (e: AgentEvent) => JSON.stringify(e, (k, v) => (k === 'ts' ? undefined : v))

function history(): AgentEvent[] {
  const out: AgentEvent[] = []
  for (let d = 0; d < 10; d++) {
    for (const agent of ['a1', 'a2', 'a3', 'a4']) {
      out.push(signin(T0 + d * DAY + 8 * HOUR, { agent: { id: agent } }))
      for (let m = 0; m < 8 * 60; m += 20) out.push(toolCall(T0 + d * DAY + 9 * HOUR + m * MINUTE, { agent: { id: agent } }))
    }
  }
  // Active on the first day only: dormant by the end of the history.
  for (let m = 0; m < 8 * 60; m += 20) out.push(toolCall(T0 + 9 * HOUR + m * MINUTE, { agent: { id: 'a5' } }))
  return out.sort((a, b) => a.ts - b.ts)
}

function runChild(mode: 'ingest' | 'probe', dataDir: string, file: string): Promise<{ out: string; kill: () => void; exited: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, dataDir, file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'error' } })
    let out = ''
    let err = ''
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    child.stderr.on('data', (d) => (err += d))
    child.stdout.on('data', (d) => {
      out += d
      if (out.endsWith('\n')) resolve({ out, kill: () => child.kill('SIGKILL'), exited })
    })
    child.on('exit', (code) => {
      if (!out.endsWith('\n')) reject(new Error(`child ${mode} exited ${code}: ${err}`))
    })
  })
}

describe('restart', () => {
  it('restores baselines from ClickHouse after SIGKILL: the next events score as if it never stopped', async () => {
    const dir = tempDir()
    const events = history()
    const probe = [
      toolCall(T0 + 11 * DAY + 10 * HOUR, { agent: { id: 'a2' } }),
      toolCall(T0 + 11 * DAY + 10 * HOUR + MINUTE, { agent: { id: 'a1' }, resource: 'sql://hr/salaries', sensitivity: 'restricted', tool: 'sql.query' }),
      ...events.slice(-5), // redelivered: must change nothing
    ]
    writeFileSync(join(dir, 'history.ndjson'), events.map(toLine).join('\n'))
    writeFileSync(join(dir, 'probe.ndjson'), probe.map(toLine).join('\n'))

    const first = await runChild('ingest', join(dir, 'data'), join(dir, 'history.ndjson'))
    expect(first.out.trim()).toBe('durable')
    first.kill()
    expect(await first.exited).toBe(null) // killed, not a clean exit

    const second = await runChild('probe', join(dir, 'data'), join(dir, 'probe.ndjson'))
    const restored = JSON.parse(second.out)
    await second.exited

    const reference = new Pipeline(ConfigSchema.parse({}))
    for (const e of [...events, ...probe]) reference.process(e)
    // The restore held the agents' saved rows (none was elevated when saved); the background
    // revival took them all, the one idle for days as a dormant profile.
    expect(restored.heldAtStart).toBe(5)
    expect(restored.metricsAtStart).toContain('agentwatch_agents{level="none"} 5\n')
    expect(restored.metricsAtStart).toContain('agentwatch_agents_saved 5\n')
    expect(Number(/^agentwatch_agents_saved_bytes (\d+)$/m.exec(restored.metricsAtStart)?.[1])).toBeGreaterThan(5 * 1000)
    expect(restored.listed).toBe(5)
    expect(restored.heldAfterList).toBe(0)
    expect(restored.dormantAfterList).toEqual(['a5'])
    expect(restored.metricsAfterList).toContain('agentwatch_agents{level="none"} 5\n')
    expect(restored.metricsAfterList).toContain('agentwatch_agents_dormant 1\n')
    expect(restored.stats.duplicates).toBe(5)
    expect(restored.agents).toHaveLength(5)
    for (const a of restored.agents) {
      const ref = reference.baselines.agents.get(a.id)!
      expect(a.learned).toBe(ref.learned)
      expect(a.states).toEqual(JSON.parse(JSON.stringify(ref.states)))
      expect({ id: a.id, level: a.risk.level, d: a.risk.detections }).toEqual({ id: a.id, level: ref.risk.level, d: ref.risk.detections })
      expect(a.risk.score).toBeCloseTo(ref.risk.score, 10)
    }
    expect(restored.agents.find((a: { id: string }) => a.id === 'a1').risk.level).not.toBe('none')
  }, 120_000)
})
