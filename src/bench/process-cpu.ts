/** CPU time of processes and threads from /proc, for the benches' accounts of who takes the cores. */
import { readFileSync } from 'node:fs'

/** Kernel clock ticks per second of /proc's times (USER_HZ, `getconf CLK_TCK`): 100 on Linux. */
const CLOCK_TICKS = 100

/**
 * CPU time, user and system, from /proc/<proc>/stat: `proc` is a pid (all its threads), `self`, or
 * `<pid>/task/<tid>` for one thread; with `children`, that of its reaped children instead.
 * Milliseconds, at 10 ms resolution; undefined off Linux or once the process has exited.
 */
export function processCpuMs(proc: number | string, opts: { children?: boolean } = {}): number | undefined {
  try {
    const stat = readFileSync(`/proc/${proc}/stat`, 'utf8')
    // The command (field 2) may hold spaces and parentheses: count fields from its closing one.
    // utime and stime are fields 14 and 15, cutime and cstime 16 and 17: the 12th to 15th after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = opts.children ? Number(fields[13]) + Number(fields[14]) : Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS : undefined
  } catch {
    return undefined
  }
}
