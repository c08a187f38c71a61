/**
 * The detector registry: one explicit line per detector, in the order they run.
 * A detector's name is its key in config (`detectors.<name>`) and in risk events.
 */
import type { Detector } from './types.ts'
import { resourceNovelty } from './resource_novelty.ts'

export const DETECTORS: readonly Detector[] = [
  resourceNovelty,
]

export type { Detector, Finding, DetectorContext, Observation } from './types.ts'
