/**
 * One shape for configuration problems everywhere (start-up, reload, API): a dotted field path and
 * a message. Zod reports all unknown keys of one object as a single issue; they are split here so
 * every misspelt key is named with its full path.
 */
import type { z } from 'zod'

export interface ConfigIssue {
  /** Dotted path such as `api.keys.0.role`; `(root)` for the document itself. */
  path: string
  message: string
}

function joinPath(path: readonly PropertyKey[]): string {
  return path.length ? path.map(String).join('.') : '(root)'
}

export function issuesFromZod(error: z.ZodError, prefix: readonly PropertyKey[] = []): ConfigIssue[] {
  const out: ConfigIssue[] = []
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path]
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: joinPath([...path, key]), message: 'unknown key' })
    } else {
      out.push({ path: joinPath(path), message: issue.message })
    }
  }
  return out
}

/** `path: message`, the string form the API port carries. */
export function formatIssue(i: ConfigIssue): string {
  return `${i.path}: ${i.message}`
}

/** Inverse of formatIssue; a string without a path is reported against the root. */
export function parseIssue(s: string): ConfigIssue {
  const at = s.indexOf(': ')
  if (at <= 0) return { path: '(root)', message: s }
  return { path: s.slice(0, at), message: s.slice(at + 2) }
}

/** Thrown when a configuration cannot be used; lists every problem found, not just the first. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    readonly issues: ConfigIssue[],
    /** File or other origin of the rejected configuration, for the message. */
    readonly source?: string,
  ) {
    super(
      `invalid configuration${source ? ` in ${source}` : ''}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n` +
        issues.map((i) => `  - ${formatIssue(i)}`).join('\n'),
    )
  }
}
