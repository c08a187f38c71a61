/**
 * The control API's own Prometheus metrics, appended to the service's on GET /metrics. Labels use
 * the route pattern (`/v1/agents/:id`), never the URL, so cardinality stays bounded.
 */

interface Series {
  count: number
  /** Seconds. */
  sum: number
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

export class ApiMetrics {
  private readonly requests = new Map<string, Series>()
  private readonly labels = new Map<string, string>()
  sseClients = 0

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`
    let s = this.requests.get(key)
    if (!s) {
      s = { count: 0, sum: 0 }
      this.requests.set(key, s)
      this.labels.set(key, `method="${esc(method)}",route="${esc(route)}",status="${status}"`)
    }
    s.count++
    s.sum += seconds
  }

  render(): string {
    const lines = [
      '# HELP agentwatch_api_requests_total Control API requests answered.',
      '# TYPE agentwatch_api_requests_total counter',
    ]
    for (const [k, s] of this.requests) lines.push(`agentwatch_api_requests_total{${this.labels.get(k)}} ${s.count}`)
    lines.push(
      '# HELP agentwatch_api_request_duration_seconds Time to answer control API requests. Seconds.',
      '# TYPE agentwatch_api_request_duration_seconds summary',
    )
    for (const [k, s] of this.requests) {
      const l = this.labels.get(k)
      lines.push(`agentwatch_api_request_duration_seconds_sum{${l}} ${s.sum}`)
      lines.push(`agentwatch_api_request_duration_seconds_count{${l}} ${s.count}`)
    }
    lines.push(
      '# HELP agentwatch_api_sse_clients Open risk event streams.',
      '# TYPE agentwatch_api_sse_clients gauge',
      `agentwatch_api_sse_clients ${this.sseClients}`,
    )
    return lines.join('\n') + '\n'
  }
}
