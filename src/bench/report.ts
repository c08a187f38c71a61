/**
 * The bench report: one figure per measured quantity, the median of its runs, and the target it is
 * judged against. Also the table printed for people.
 */
import type { MachineInfo } from './machine.ts'
import { median } from './stats.ts'

export const BENCH_NAMES = ['pipeline', 'e2e', 'memory', 'activity', 'restore', 'clickhouse', 'api'] as const
export type BenchName = (typeof BENCH_NAMES)[number]

export interface Target {
  op: '>=' | '<='
  value: number
}

export interface Figure {
  /** Stable key, e.g. `pipeline.decode_process_eps`. */
  name: string
  label: string
  unit: string
  /** Median of `runs`. */
  value: number
  runs: number[]
  target?: Target
  /** Whether `value` meets `target`; undefined when there is no target or no value. */
  pass?: boolean
  /** A caveat printed beside the figure (extrapolated, did not fit, ...). */
  note?: string
}

export interface BenchSection {
  figures: Figure[]
  /** Sizes and per-run details, for whoever reads the JSON. */
  details: Record<string, unknown>
  /** Set when the bench could not run; figures may then be empty. */
  error?: string
  /** Wall time of the whole section. Milliseconds. */
  wallMs: number
}

export interface BenchReport {
  version: 1
  startedAt: string
  command: string
  quick: boolean
  machine: MachineInfo
  benches: Partial<Record<BenchName, BenchSection>>
}

export function figure(name: string, label: string, unit: string, runs: number[], opts: { target?: Target; note?: string } = {}): Figure {
  const value = median(runs)
  const f: Figure = { name, label, unit, value, runs }
  if (opts.target) {
    f.target = opts.target
    if (Number.isFinite(value)) f.pass = opts.target.op === '>=' ? value >= opts.target.value : value <= opts.target.value
  }
  if (opts.note) f.note = opts.note
  return f
}

function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return '-'
  const abs = Math.abs(x)
  if (abs >= 100) return Math.round(x).toLocaleString('en-US')
  if (abs >= 10) return x.toFixed(1)
  return x.toFixed(2)
}

export function formatTable(report: BenchReport): string {
  const header = ['bench', 'figure', 'median', 'unit', 'runs', 'target', 'pass']
  const rows: string[][] = []
  const notes: string[] = []
  for (const [name, section] of Object.entries(report.benches)) {
    if (!section) continue
    if (section.error) rows.push([name, `error: ${section.error.split('\n')[0]!.slice(0, 90)}`, '', '', '', '', 'FAIL'])
    for (const f of section.figures) {
      let label = f.label
      if (f.note) {
        notes.push(f.note)
        label += ` [${notes.length}]`
      }
      rows.push([
        name,
        label,
        formatNumber(f.value),
        f.unit,
        String(f.runs.length),
        f.target ? `${f.target.op} ${formatNumber(f.target.value)}` : '',
        f.pass === undefined ? '' : f.pass ? 'pass' : 'FAIL',
      ])
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const numeric = new Set([2, 4, 5])
  const fmt = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()
  const out = [fmt(header), widths.map((w) => '-'.repeat(w)).join('  ')]
  for (const r of rows) out.push(fmt(r))
  notes.forEach((n, i) => out.push(`[${i + 1}] ${n}`))
  return out.join('\n')
}
