/**
 * Deep merge for partial configuration updates: plain objects merge key by key, everything else
 * (arrays, scalars, null) replaces. Arrays replace rather than concatenate so that a partial update
 * such as `policy.high: ["throttle"]` means exactly that list.
 */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

export function deepMerge(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return base
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(patch)) {
    // Guard against prototype pollution from untrusted JSON bodies.
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue
    out[k] = deepMerge(base[k], v)
  }
  return out
}
