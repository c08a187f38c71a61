/** CPU time of other processes, for the e2e bench's account of who takes the cores. */
import { readFileSync } from 'node:fs'

/** Kernel clock ticks per second of /proc's times (USER_HZ, `getconf CLK_TCK`): 100 on Linux. */
const CLOCK_TICKS = 100

/**
 * CPU time the process has used, all its threads, user and system, from /proc/<pid>/stat.
 * Milliseconds, at 10 ms resolution; undefined off Linux or once the process has exited.
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command (field 2) may hold spaces and parentheses: count fields from its closing one.
    // utime and stime are fields 14 and 15, so the 12th and 13th after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS : undefined
  } catch {
    return undefined
  }
}
