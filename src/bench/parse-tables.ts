/**
 * What the saved form of the frequency tables costs JSON.parse, per restored profile:
 *
 *   node --import tsx src/bench/parse-tables.ts [profiles=30000] [rounds=3]
 *
 * Four forms of the same cloned profiles (src/bench/data.ts), each parsed and kept as a restore
 * keeps them: tables as saved (a key array and their numbers in base64), with their numbers as a
 * JSON array (the form saved before the fourth round of docs/benchmarks.md), and as objects keyed by
 * name (the form saved before 2026-11-27) with each agent's keys in its own order or in one order
 * shared by all copies of a template. JSON.parse builds a hidden class per distinct sequence of property
 * names, which only the second of those pays per agent, as a real fleet would. Prints the median
 * microseconds per profile over the rounds, each round on other copies.
 */
import { benchFleet, forEachSavedTable, ProfileCloner, trainedProfiles } from './data.ts'
import { median } from './stats.ts'
import type { AgentProfile } from '../baselines/profiles.ts'

/** The state's tables and call sizes with their numbers as JSON arrays (the form saved before the fourth round). */
function withNumberArrays(profile: AgentProfile): AgentProfile {
  forEachSavedTable(profile, ({ keys, numbers }, state, field) => {
    const saved = state[field] as Record<string, unknown>
    state[field] = { keys, [saved.countFirstLast !== undefined ? 'countFirstLast' : 'callsLargestMean']: numbers }
  })
  return profile
}

/** The state's tables and call sizes as objects keyed by name, in their saved order or sorted. */
function asObjects(profile: AgentProfile, sorted: boolean): AgentProfile {
  forEachSavedTable(profile, ({ keys, numbers, width }, state, field) => {
    const order = keys.map((_, i) => i)
    if (sorted) order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1))
    const out: Record<string, unknown> = {}
    for (const i of order) Object.defineProperty(out, keys[i]!, { value: numbers.slice(width * i, width * i + width), enumerable: true, writable: true, configurable: true })
    state[field] = out
  })
  return profile
}

function microsPerParse(texts: readonly string[]): number {
  const kept: unknown[] = []
  const t = performance.now()
  for (const text of texts) kept.push(JSON.parse(text))
  return ((performance.now() - t) * 1000) / texts.length
}

const profiles = Number(process.argv[2] ?? 30_000)
const rounds = Number(process.argv[3] ?? 3)
const cloner = new ProfileCloner(trainedProfiles(benchFleet({ seed: 3, agents: 100, days: 14 })))
const forms: [string, (i: number) => string][] = [
  ['as saved: key array and base64 numbers, own key orders', (i) => JSON.stringify(cloner.clone(i))],
  ['key and number arrays, own key orders', (i) => JSON.stringify(withNumberArrays(cloner.clone(i)))],
  ['objects keyed by name, own key orders', (i) => JSON.stringify(asObjects(cloner.clone(i), false))],
  ['objects keyed by name, one order per template', (i) => JSON.stringify(asObjects(cloner.clone(i), true))],
]
for (const [name, text] of forms) {
  // Other copies every round (other key orders): parsing the same texts again would reuse the
  // hidden classes the first round built, which a restore of distinct agents never does.
  let chars = 0
  const us = Array.from({ length: rounds }, (_, round) => {
    const texts = Array.from({ length: profiles }, (_, i) => text(round * profiles + i))
    chars = texts.reduce((n, s) => n + s.length, 0) / texts.length
    return microsPerParse(texts)
  })
  process.stdout.write(`${name.padEnd(50)} ${median(us).toFixed(1).padStart(6)} µs per profile (${Math.round(chars)} characters; rounds ${us.map((u) => u.toFixed(1)).join(' / ')})\n`)
}
