/** What the benchmark ran on: figures mean little without it. */
import os from 'node:os'

export interface MachineInfo {
  cpuModel: string
  cores: number
  /** Total and free memory when the bench started. Bytes. */
  memoryBytes: number
  freeMemoryBytes: number
  node: string
  v8: string
  platform: string
  arch: string
  hostname: string
  loadAverage: number[]
}

export function describeMachine(): MachineInfo {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    freeMemoryBytes: os.freemem(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.type()} ${os.release()}`,
    arch: process.arch,
    hostname: os.hostname(),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  }
}

export const GiB = 1024 ** 3
export const MiB = 1024 ** 2
