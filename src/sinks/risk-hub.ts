/** Live risk events for in-process subscribers (the API's Server-Sent Events stream). */
import type { RiskEvent } from '../../schemas/risk.ts'
import type { RiskSink } from './types.ts'

export class RiskHub implements RiskSink {
  readonly name = 'hub.risk'
  private readonly listeners = new Set<(e: RiskEvent) => void>()

  subscribe(listener: (e: RiskEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get subscribers(): number {
    return this.listeners.size
  }

  write(e: RiskEvent): void {
    for (const l of this.listeners) l(e)
  }

  async flush(): Promise<void> {}
  async close(): Promise<void> {
    this.listeners.clear()
  }
}
