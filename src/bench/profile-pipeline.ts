/**
 * The pipeline bench alone, for a CPU profile of the per-event path:
 *
 *   node --cpu-prof --cpu-prof-dir=bench-results/profile --import tsx src/bench/profile-pipeline.ts
 *   node --import tsx src/bench/profile-pipeline.ts --top bench-results/profile/<file>.cpuprofile
 *
 * `--top` prints the functions with the most self time in a .cpuprofile.
 */
import { readFileSync } from 'node:fs'
import { runPipelineBench } from './pipeline.ts'
import { tuneGarbageCollection } from '../util/gc.ts'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface SelfTime {
  functionName: string
  location: string
  selfMs: number
  selfPercent: number
}

/** Self time per function (summed over its call sites), largest first. */
export function topSelfTime(profile: CpuProfile, limit = 10): SelfTime[] {
  const byNode = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<string, { fn: string; loc: string; us: number }>()
  let totalUs = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    totalUs += dt
    const n = byNode.get(id)
    if (!n) return
    const fn = n.callFrame.functionName || '(anonymous)'
    const loc = `${n.callFrame.url.replace(/^file:\/\/.*?\/(src|schemas|detectors|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`
    const key = `${fn}@${loc}`
    const cur = selfUs.get(key) ?? { fn, loc, us: 0 }
    cur.us += dt
    selfUs.set(key, cur)
  })
  return [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((s) => ({ functionName: s.fn, location: s.loc, selfMs: Math.round(s.us / 1000), selfPercent: Math.round((1000 * s.us) / totalUs) / 10 }))
}

tuneGarbageCollection()
const args = process.argv.slice(2)
if (args[0] === '--top' && args[1]) {
  const top = topSelfTime(JSON.parse(readFileSync(args[1], 'utf8')) as CpuProfile, Number(args[2] ?? 10))
  for (const t of top) process.stdout.write(`${String(t.selfPercent).padStart(5)}%  ${String(t.selfMs).padStart(7)} ms  ${t.functionName}  ${t.location}\n`)
} else {
  const section = runPipelineBench({ fleet: { seed: 1, agents: 100, days: 7 }, runs: Number(args[0] ?? 3) })
  for (const f of section.figures) process.stdout.write(`${f.label}: ${Math.round(f.value)} ${f.unit}\n`)
}
