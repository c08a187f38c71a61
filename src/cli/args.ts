/** Command-line option parsing shared by the subcommands: one error type, one way to read numbers. */

/** A mistake in the command line: the command prints it with its usage and exits 2. */
export class UsageError extends Error {}

/** `--name <int>`, at least `min`; `fallback` when absent. */
export function intOption(name: string, raw: string | undefined, fallback: number, min = 1, max = Infinity): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer ${max === Infinity ? `>= ${min}` : `from ${min} to ${max}`}, got "${raw}"`)
  return n
}

/** `--name a,b,c` of integers, each at least `min` (positive by default); `fallback` when absent. */
export function intListOption(name: string, raw: string | undefined, fallback: number[], min = 1): number[] {
  if (raw === undefined) return fallback
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean).map(Number)
  if (!list.length || list.some((n) => !Number.isInteger(n) || n < min)) throw new UsageError(`--${name} must be a comma-separated list of ${min === 1 ? 'positive integers' : `integers >= ${min}`}, got "${raw}"`)
  return list
}
