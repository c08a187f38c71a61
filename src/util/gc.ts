/**
 * V8 settings for a process that runs the pipeline, applied first thing by each entry point (the
 * CLI, the bench's child processes, the e2e bench's service).
 *
 * Allocation-site pretenuring off. V8 tracks, per allocation site, how many of its objects survive
 * a young-generation collection, and changes how it allocates them past a ratio. Events live for
 * microseconds, but any moment where decoded events pile up (a batch held across a collection, a
 * bench holding a week of them) is enough: measured after one such moment, every young-generation
 * collection promoted ~2.5 MB and took ~5-7 ms instead of ~4 KB and <1 ms, and decoding ran ~35%
 * slower, for the rest of the process's life (docs/benchmarks.md, sixth round).
 */
import { setFlagsFromString } from 'node:v8'

export function tuneGarbageCollection(): void {
  setFlagsFromString('--no-allocation-site-pretenuring')
}
