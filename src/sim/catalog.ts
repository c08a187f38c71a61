/**
 * The blueprints a simulated tenant runs: what each kind of agent calls, on which resources, from
 * where, with which credential, and for whom. Per-agent variation (which subset, how often) is drawn
 * in fleet.ts; the daily rhythm of each kind lives in activity.ts.
 */
import type { AgentEventInput } from '../../schemas/events.ts'

type ToolCall = Extract<AgentEventInput, { kind: 'tool_call' }>
export type Operation = ToolCall['operation']
export type Sensitivity = NonNullable<ToolCall['sensitivity']>
export type Credential = Extract<AgentEventInput, { kind: 'signin' }>['credential']

export type BlueprintKind = 'support' | 'batch' | 'devops' | 'monitor' | 'orchestrator' | 'worker' | 'hr'

/**
 * One kind of call an agent makes. `resource` may hold one `{pool}` placeholder that is filled with
 * each of the agent's picks from that pool (an agent deploys only its own services).
 */
export interface ActionTemplate {
  tool: string
  resource: string
  operation: Operation
  /** Absent means internal, as in the event contract. */
  sensitivity?: Sensitivity
  /** Typical records per call (median across agents). Items. */
  records: number
  /** Typical payload per record. Bytes. */
  bytesPerRecord: number
  /** Typical call duration. Milliseconds. */
  durationMs: number
  /** Every agent of the blueprint uses it (the blueprint's purpose); others are optional. */
  core?: boolean
}

export interface HomeNetwork {
  asn: number
  country: string
  location: string
  /** First two octets of the addresses used from this network. */
  ipPrefix: readonly [number, number]
  /** Local time of the people this network serves, for business-hour rhythms. Hours from UTC. */
  utcOffsetHours: number
}

export interface Audience {
  resource: string
  scopes: string[]
}

export interface Blueprint {
  id: string
  kind: BlueprintKind
  /** Prefix of agent ids, for example support-desk-007. */
  agentPrefix: string
  platform: string
  credential: Credential
  /** Attended agents act on behalf of a user from a stable per-agent pool. */
  attended: boolean
  userPrefix?: string
  /** Users in the tenant's pool for this blueprint, and how many of them one agent serves. */
  userPoolSize?: number
  usersPerAgent?: readonly [number, number]
  audiences: Audience[]
  networks: HomeNetwork[]
  actions: ActionTemplate[]
  /** Named pools for `{pool}` placeholders and how many entries each agent takes. */
  pools?: Record<string, { values: string[]; perAgent: readonly [number, number] }>
  /** Fraction of optional actions an agent uses. 0-1. */
  optionalShare: readonly [number, number]
  owners: string[]
}

const AZURE = 8075
const AWS = 16509
const GOOGLE = 15169

const GRAPH: Audience = { resource: 'https://graph.microsoft.com', scopes: ['Sites.Read.All', 'Mail.Send'] }

export const BLUEPRINTS: Record<BlueprintKind, Blueprint> = {
  support: {
    id: 'bp-support-desk',
    kind: 'support',
    agentPrefix: 'support-desk',
    platform: 'copilot-studio',
    credential: 'federated',
    attended: true,
    userPrefix: 'u-support',
    userPoolSize: 240,
    usersPerAgent: [6, 24],
    audiences: [GRAPH, { resource: 'api://crm.contoso.com', scopes: ['Contacts.Read', 'Accounts.Read'] }, { resource: 'api://servicenow.contoso.com', scopes: ['incident.read', 'incident.write'] }],
    networks: [
      { asn: AZURE, country: 'NL', location: 'westeurope', ipPrefix: [20, 50], utcOffsetHours: 1 },
      { asn: AZURE, country: 'US', location: 'eastus', ipPrefix: [20, 42], utcOffsetHours: -5 },
      { asn: AZURE, country: 'SG', location: 'southeastasia', ipPrefix: [20, 43], utcOffsetHours: 8 },
    ],
    actions: [
      { tool: 'ticket.read', resource: 'servicenow://incidents', operation: 'read', records: 3, bytesPerRecord: 2_400, durationMs: 180, core: true },
      { tool: 'ticket.update', resource: 'servicenow://incidents', operation: 'write', records: 1, bytesPerRecord: 900, durationMs: 260, core: true },
      { tool: 'kb.search', resource: 'kb://support/articles', operation: 'read', sensitivity: 'public', records: 6, bytesPerRecord: 3_000, durationMs: 320, core: true },
      { tool: 'crm.lookup', resource: 'dynamics://crm/contacts', operation: 'read', sensitivity: 'confidential', records: 2, bytesPerRecord: 1_600, durationMs: 240 },
      { tool: 'crm.lookup', resource: 'dynamics://crm/accounts', operation: 'read', sensitivity: 'confidential', records: 1, bytesPerRecord: 2_200, durationMs: 260 },
      { tool: 'sharepoint.search', resource: 'sharepoint://support/playbooks', operation: 'read', records: 5, bytesPerRecord: 1_200, durationMs: 410 },
      { tool: 'doc.read', resource: 'sharepoint://support/faq', operation: 'read', sensitivity: 'public', records: 1, bytesPerRecord: 14_000, durationMs: 150 },
      { tool: 'mail.send', resource: 'mail://outbound/customer-replies', operation: 'write', sensitivity: 'confidential', records: 1, bytesPerRecord: 6_000, durationMs: 520 },
      { tool: 'billing.lookup', resource: 'stripe://invoices', operation: 'read', sensitivity: 'confidential', records: 2, bytesPerRecord: 1_100, durationMs: 300 },
      { tool: 'teams.post', resource: 'teams://support/escalations', operation: 'write', records: 1, bytesPerRecord: 800, durationMs: 200 },
    ],
    optionalShare: [0.5, 1],
    owners: ['team-support-eu', 'team-support-us', 'team-support-apac'],
  },
  hr: {
    id: 'bp-hr-assistant',
    kind: 'hr',
    agentPrefix: 'hr-assistant',
    platform: 'copilot-studio',
    credential: 'federated',
    attended: true,
    userPrefix: 'u-hr',
    userPoolSize: 40,
    usersPerAgent: [4, 12],
    audiences: [GRAPH, { resource: 'api://workday.contoso.com', scopes: ['Workers.Read'] }, { resource: 'https://database.windows.net', scopes: ['user_impersonation'] }],
    networks: [{ asn: AZURE, country: 'GB', location: 'uksouth', ipPrefix: [51, 140], utcOffsetHours: 0 }],
    actions: [
      { tool: 'hr.lookup', resource: 'workday://employees', operation: 'read', sensitivity: 'restricted', records: 1, bytesPerRecord: 2_500, durationMs: 350, core: true },
      { tool: 'sql.query', resource: 'sql://hr-db/employees', operation: 'read', sensitivity: 'restricted', records: 4, bytesPerRecord: 900, durationMs: 700, core: true },
      { tool: 'kb.search', resource: 'kb://hr/policies', operation: 'read', records: 4, bytesPerRecord: 3_500, durationMs: 300, core: true },
      { tool: 'mail.send', resource: 'mail://internal/hr', operation: 'write', records: 1, bytesPerRecord: 4_000, durationMs: 480 },
      { tool: 'doc.read', resource: 'sharepoint://hr/handbook', operation: 'read', records: 1, bytesPerRecord: 20_000, durationMs: 160 },
    ],
    optionalShare: [0.5, 1],
    owners: ['team-people-ops'],
  },
  batch: {
    id: 'bp-report-batch',
    kind: 'batch',
    agentPrefix: 'report-batch',
    platform: 'foundry',
    credential: 'managed_identity',
    attended: false,
    audiences: [{ resource: 'https://database.windows.net', scopes: ['user_impersonation'] }, { resource: 'https://storage.azure.com', scopes: ['user_impersonation'] }, { resource: 'https://analysis.windows.net/powerbi/api', scopes: ['Dataset.ReadWrite.All'] }],
    networks: [{ asn: AZURE, country: 'IE', location: 'northeurope', ipPrefix: [40, 113], utcOffsetHours: 0 }],
    actions: [
      { tool: 'sql.query', resource: 'sql://warehouse/sales', operation: 'read', sensitivity: 'confidential', records: 4_000, bytesPerRecord: 220, durationMs: 4_000, core: true },
      { tool: 'blob.write', resource: 'blob://reports/daily', operation: 'write', records: 1, bytesPerRecord: 400_000, durationMs: 900, core: true },
      { tool: 'sql.query', resource: 'sql://warehouse/inventory', operation: 'read', records: 2_500, bytesPerRecord: 180, durationMs: 3_000 },
      { tool: 'sql.query', resource: 'sql://warehouse/finance-ledger', operation: 'read', sensitivity: 'confidential', records: 6_000, bytesPerRecord: 260, durationMs: 6_500 },
      { tool: 'sql.query', resource: 'sql://warehouse/marketing', operation: 'read', records: 1_500, bytesPerRecord: 200, durationMs: 2_500 },
      { tool: 'powerbi.refresh', resource: 'powerbi://datasets/exec-dashboard', operation: 'execute', sensitivity: 'confidential', records: 1, bytesPerRecord: 100, durationMs: 15_000 },
      { tool: 'mail.send', resource: 'mail://internal/report-subscribers', operation: 'write', records: 1, bytesPerRecord: 30_000, durationMs: 600 },
    ],
    optionalShare: [0.4, 1],
    owners: ['team-bi', 'team-finance-analytics'],
  },
  devops: {
    id: 'bp-devops',
    kind: 'devops',
    agentPrefix: 'devops',
    platform: 'github-actions',
    credential: 'certificate',
    attended: false,
    audiences: [{ resource: 'https://management.azure.com', scopes: ['user_impersonation'] }, { resource: 'https://vault.azure.net', scopes: ['secrets.get'] }, { resource: 'api://github.contoso.com', scopes: ['repo'] }],
    networks: [{ asn: AWS, country: 'US', location: 'us-east-1', ipPrefix: [3, 210], utcOffsetHours: -5 }],
    pools: {
      service: { values: ['checkout', 'search', 'payments', 'catalog', 'identity', 'notifications', 'orders', 'pricing', 'shipping', 'reviews', 'recommendations', 'gateway'], perAgent: [2, 4] },
    },
    actions: [
      { tool: 'git.read', resource: 'github://contoso/{service}', operation: 'read', records: 30, bytesPerRecord: 4_000, durationMs: 600, core: true },
      { tool: 'ci.run', resource: 'ci://pipelines/{service}', operation: 'execute', records: 1, bytesPerRecord: 2_000, durationMs: 45_000, core: true },
      { tool: 'k8s.apply', resource: 'k8s://staging/{service}', operation: 'write', records: 6, bytesPerRecord: 3_000, durationMs: 2_500, core: true },
      { tool: 'k8s.apply', resource: 'k8s://prod/{service}', operation: 'write', records: 6, bytesPerRecord: 3_000, durationMs: 3_000 },
      { tool: 'k8s.logs', resource: 'k8s://prod/{service}', operation: 'read', records: 400, bytesPerRecord: 180, durationMs: 900 },
      { tool: 'secrets.read', resource: 'vault://kv/{service}', operation: 'read', sensitivity: 'restricted', records: 2, bytesPerRecord: 300, durationMs: 120 },
      { tool: 'artifact.push', resource: 'registry://images/{service}', operation: 'write', records: 1, bytesPerRecord: 80_000_000, durationMs: 20_000 },
    ],
    optionalShare: [0.6, 1],
    owners: ['team-platform', 'team-sre'],
  },
  monitor: {
    id: 'bp-monitor',
    kind: 'monitor',
    agentPrefix: 'monitor',
    platform: 'foundry',
    credential: 'managed_identity',
    attended: false,
    audiences: [{ resource: 'https://api.loganalytics.io', scopes: ['Data.Read'] }, { resource: 'https://monitoring.azure.com', scopes: ['Metrics.Read'] }],
    networks: [{ asn: GOOGLE, country: 'BE', location: 'europe-west1', ipPrefix: [34, 76], utcOffsetHours: 0 }],
    pools: {
      cluster: { values: ['prod-eu-1', 'prod-eu-2', 'prod-us-1', 'prod-us-2', 'prod-ap-1', 'edge-global'], perAgent: [1, 3] },
    },
    actions: [
      { tool: 'metrics.query', resource: 'prometheus://{cluster}', operation: 'read', records: 120, bytesPerRecord: 60, durationMs: 250, core: true },
      { tool: 'logs.search', resource: 'loganalytics://{cluster}', operation: 'read', records: 200, bytesPerRecord: 240, durationMs: 1_200, core: true },
      { tool: 'status.check', resource: 'https://status.contoso.com', operation: 'read', sensitivity: 'public', records: 1, bytesPerRecord: 2_000, durationMs: 90 },
      { tool: 'alert.create', resource: 'pagerduty://services/{cluster}', operation: 'write', records: 1, bytesPerRecord: 1_500, durationMs: 300 },
    ],
    optionalShare: [0.5, 1],
    owners: ['team-sre'],
  },
  orchestrator: {
    id: 'bp-research-orchestrator',
    kind: 'orchestrator',
    agentPrefix: 'research-orch',
    platform: 'foundry',
    credential: 'federated',
    attended: true,
    userPrefix: 'u-analyst',
    userPoolSize: 60,
    usersPerAgent: [3, 10],
    audiences: [{ resource: 'api://agents.contoso.com', scopes: ['Agents.Spawn'] }, GRAPH],
    networks: [{ asn: AZURE, country: 'US', location: 'westus2', ipPrefix: [20, 69], utcOffsetHours: -8 }],
    actions: [
      { tool: 'plan.create', resource: 'llm://planner', operation: 'execute', records: 1, bytesPerRecord: 3_000, durationMs: 2_500, core: true },
      { tool: 'doc.write', resource: 'sharepoint://research/reports', operation: 'write', records: 1, bytesPerRecord: 40_000, durationMs: 700, core: true },
    ],
    optionalShare: [1, 1],
    owners: ['team-market-research'],
  },
  worker: {
    id: 'bp-research-worker',
    kind: 'worker',
    agentPrefix: 'worker',
    platform: 'foundry',
    credential: 'federated',
    attended: true,
    audiences: [GRAPH, { resource: 'api://search.contoso.com', scopes: ['Search.Query'] }],
    networks: [{ asn: AZURE, country: 'US', location: 'westus2', ipPrefix: [20, 69], utcOffsetHours: -8 }],
    pools: {
      site: { values: ['https://www.reuters.com', 'https://www.bloomberg.com', 'https://www.ft.com', 'https://arxiv.org', 'https://www.sec.gov', 'https://en.wikipedia.org', 'https://www.statista.com'], perAgent: [2, 5] },
    },
    actions: [
      { tool: 'web.search', resource: 'https://api.bing.microsoft.com', operation: 'read', sensitivity: 'public', records: 10, bytesPerRecord: 1_500, durationMs: 700, core: true },
      { tool: 'web.fetch', resource: '{site}', operation: 'read', sensitivity: 'public', records: 1, bytesPerRecord: 90_000, durationMs: 1_400, core: true },
      { tool: 'summarize', resource: 'llm://summarizer', operation: 'execute', records: 1, bytesPerRecord: 6_000, durationMs: 3_500, core: true },
      { tool: 'doc.read', resource: 'sharepoint://research/library', operation: 'read', records: 2, bytesPerRecord: 30_000, durationMs: 300 },
      { tool: 'doc.read', resource: 'sharepoint://research/market-data', operation: 'read', sensitivity: 'confidential', records: 2, bytesPerRecord: 45_000, durationMs: 350 },
    ],
    optionalShare: [0.5, 1],
    owners: ['team-market-research'],
  },
}

/** Networks a hijacked credential is used from: hosting and residential ranges no agent uses. */
export const HOSTILE_NETWORKS: readonly { asn: number; country: string; ipPrefix: readonly [number, number] }[] = [
  { asn: 9009, country: 'RO', ipPrefix: [185, 220] },
  { asn: 14061, country: 'DE', ipPrefix: [164, 92] },
  { asn: 4134, country: 'CN', ipPrefix: [222, 186] },
  { asn: 200019, country: 'MD', ipPrefix: [176, 123] },
  { asn: 12389, country: 'RU', ipPrefix: [95, 167] },
]

/** Tools and resources introduced by the benign rollouts. */
export const ROLLOUTS: Partial<Record<BlueprintKind, ActionTemplate>> = {
  support: { tool: 'copilot.summarize', resource: 'llm://copilot/summarize', operation: 'execute', records: 1, bytesPerRecord: 5_000, durationMs: 1_800 },
  devops: { tool: 'sbom.scan', resource: 'scanner://sbom', operation: 'execute', records: 40, bytesPerRecord: 500, durationMs: 8_000 },
}
