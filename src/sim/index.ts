/** The fleet simulator: labelled synthetic agent activity for tests, evaluation and demos. */
export { generateFleet, defaultAttacksPerScenario, CLEAN_DAYS, type Fleet, type FleetOptions } from './generate.ts'
export { liveFleet, type LiveFleetOptions } from './live.ts'
export { writeNdjsonFile, writeNdjsonTo, writeLabelsFile } from './ndjson.ts'
export { DEFAULT_START } from './fleet.ts'
export { SCENARIOS, BENIGN_TYPES, type Labels, type AttackEpisode, type BenignWindow, type Scenario, type BenignType } from './labels.ts'
export { mulberry32, Rng, hashSeed } from './random.ts'
