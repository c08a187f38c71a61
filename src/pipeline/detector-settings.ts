/**
 * Effective detector settings per blueprint: the `detectors` section with the blueprint's
 * overrides merged over it, validated by the detector's own schema. Computed once per config.
 */
import { DETECTORS, type Detector } from '../../detectors/index.ts'
import type { Config, DetectorSettings } from '../../schemas/config.ts'

export interface ActiveDetector {
  detector: Detector
  settings: DetectorSettings
}

export class DetectorSettingsResolver {
  private readonly cache = new Map<string, { active: ActiveDetector[]; all: ActiveDetector[] }>()
  private readonly base: { active: ActiveDetector[]; all: ActiveDetector[] }

  /** Blueprints with overrides: a set, so that the per-event check is not a keyed read of the config object by any blueprint id. */
  private readonly overridden: ReadonlySet<string>

  constructor(private readonly config: Config) {
    this.base = this.build(undefined)
    this.overridden = new Set(Object.keys(config.blueprintOverrides))
  }

  /** Enabled detectors with their settings for an agent of `blueprintId`. */
  forBlueprint(blueprintId: string | undefined): ActiveDetector[] {
    return this.resolve(blueprintId).active
  }

  /** Every detector, enabled or not, with its settings for `blueprintId` (merging peer states). */
  allForBlueprint(blueprintId: string | undefined): ActiveDetector[] {
    return this.resolve(blueprintId).all
  }

  private resolve(blueprintId: string | undefined): { active: ActiveDetector[]; all: ActiveDetector[] } {
    if (blueprintId === undefined || !this.overridden.has(blueprintId)) return this.base
    let resolved = this.cache.get(blueprintId)
    if (!resolved) {
      resolved = this.build(blueprintId)
      this.cache.set(blueprintId, resolved)
    }
    return resolved
  }

  private build(blueprintId: string | undefined): { active: ActiveDetector[]; all: ActiveDetector[] } {
    const overrides = blueprintId ? this.config.blueprintOverrides[blueprintId]?.detectors : undefined
    const all: ActiveDetector[] = []
    for (const d of DETECTORS) {
      const base = (this.config.detectors as Record<string, DetectorSettings>)[d.name]
      const merged = overrides?.[d.name] ? { ...base, ...overrides[d.name] } : base
      // Overrides are validated by the detector's schema (plus enabled/weight) like the base section.
      const { enabled, weight, ...rest } = merged as DetectorSettings
      const settings = { ...d.config.parse(rest), enabled: Boolean(enabled), weight: Number(weight) } as DetectorSettings
      all.push({ detector: d, settings })
    }
    return { active: all.filter((a) => a.settings.enabled), all }
  }
}
