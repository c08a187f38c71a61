/**
 * The detector registry: one explicit line per detector, in the order they run.
 * A detector's name is its key in config (`detectors.<name>`) and in risk events.
 */
import type { Detector } from './types.ts'
import { resourceNovelty } from './resource_novelty.ts'
import { toolNovelty } from './tool_novelty.ts'
import { volume } from './volume.ts'
import { timeOfWeek } from './time_of_week.ts'
import { toolSequence } from './tool_sequence.ts'
import { signinContext } from './signin_context.ts'
import { delegation } from './delegation.ts'

export const DETECTORS: readonly Detector[] = [
  resourceNovelty,
  toolNovelty,
  volume,
  timeOfWeek,
  toolSequence,
  signinContext,
  delegation,
]

export type { Detector, Finding, DetectorContext, Observation } from './types.ts'
