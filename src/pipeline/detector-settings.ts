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
  private readonly cache = new Map<string, ActiveDetector[]>()
  private readonly base: ActiveDetector[]

  constructor(private readonly config: Config) {
    this.base = this.build(undefined)
  }

  /** Enabled detectors with their settings for an agent of `blueprintId`. */
  forBlueprint(blueprintId: string | undefined): ActiveDetector[] {
    if (blueprintId === undefined || !this.config.blueprintOverrides[blueprintId]) return this.base
    let active = this.cache.get(blueprintId)
    if (!active) {
      active = this.build(blueprintId)
      this.cache.set(blueprintId, active)
    }
    return active
  }

  private build(blueprintId: string | undefined): ActiveDetector[] {
    const overrides = blueprintId ? this.config.blueprintOverrides[blueprintId]?.detectors : undefined
    const out: ActiveDetector[] = []
    for (const d of DETECTORS) {
      const base = (this.config.detectors as Record<string, DetectorSettings>)[d.name]
      const merged = overrides?.[d.name] ? { ...base, ...overrides[d.name] } : base
      // Overrides are validated by the detector's schema (plus enabled/weight) like the base section.
      const { enabled, weight, ...rest } = merged as DetectorSettings
      const settings = { ...d.config.parse(rest), enabled: Boolean(enabled), weight: Number(weight) } as DetectorSettings
      if (settings.enabled) out.push({ detector: d, settings })
    }
    return out
  }
}
