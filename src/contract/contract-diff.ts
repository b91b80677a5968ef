import { type CoverageProblem, schemaCoverage } from './schema-coverage.ts'
import type { AnyService } from './service.ts'

/**
 * What a service promises the rest of the system, as JSON Schema: its actions' input and
 * output, and the payloads of the events it emits. The same shape whether read from a
 * definition (`contractOf`) or from what a running instance announced.
 */
export interface ServiceContract {
  name: string
  version: string
  actions: Record<string, { input?: unknown; output?: unknown }>
  /** Event name → payload schema, for the events this service emits. */
  events: Record<string, unknown>
}

/** Who uses the running contract: callers per action, subscribing services per event. */
export interface ContractUse {
  callers?: Record<string, readonly string[]>
  subscribers?: Record<string, readonly string[]>
}

export interface ContractChange {
  /** `action get`, `action get input.id`, `event user.created payload.email`. */
  where: string
  what: string
}

export interface ContractDiff {
  service: string
  from: string
  to: string
  /** Changes that can fail a caller or subscriber of the running version. */
  breaking: ContractChange[]
  /** Changes none of them can notice (added actions and events, wider inputs, narrower outputs). */
  compatible: ContractChange[]
}

/** The contract of a service definition (TypeBox schemas are JSON Schema). */
export function contractOf(service: AnyService): ServiceContract {
  const actions: ServiceContract['actions'] = {}
  for (const [name, action] of Object.entries(service.actions)) {
    const a = action as { input: { schema: unknown }; output: { schema: unknown } }
    actions[name] = { input: plain(a.input.schema), output: plain(a.output.schema) }
  }
  const events: ServiceContract['events'] = {}
  for (const [name, schema] of Object.entries(service.events ?? {})) events[name] = plain(schema)
  return { name: service.name, version: service.version, actions, events }
}

/**
 * How `next` differs from `running` for those who use `running`. An action's input must
 * take everything it took (a new required field or a narrower type breaks callers); an
 * output, and an event's payload, must stay within what was promised (a removed field
 * or a wider type breaks readers). A removed action or event is breaking. `use` names who
 * would be hit. Anything not proven safe counts as breaking (see schemaCoverage).
 */
export function diffContracts(
  running: ServiceContract,
  next: ServiceContract,
  use: ContractUse = {},
): ContractDiff {
  const diff: ContractDiff = {
    service: next.name,
    from: running.version,
    to: next.version,
    breaking: [],
    compatible: [],
  }
  const hit = (who: readonly string[] | undefined) =>
    who && who.length > 0 ? ` (used by ${who.join(', ')})` : ''
  for (const [name, before] of Object.entries(running.actions)) {
    const after = next.actions[name]
    const where = `action ${name}`
    if (!after) {
      diff.breaking.push({ where, what: `removed${hit(use.callers?.[name])}` })
      continue
    }
    const problems = [
      ...schemaCoverage(after.input, before.input, 'input'),
      ...schemaCoverage(before.output, after.output, 'output', 'narrow'),
    ]
    record(diff, where, problems, hit(use.callers?.[name]), same(before, after))
  }
  for (const name of Object.keys(next.actions)) {
    if (!(name in running.actions)) diff.compatible.push({ where: `action ${name}`, what: 'added' })
  }
  for (const [name, before] of Object.entries(running.events)) {
    const where = `event ${name}`
    if (!(name in next.events)) {
      diff.breaking.push({ where, what: `no longer emitted${hit(use.subscribers?.[name])}` })
      continue
    }
    const problems = schemaCoverage(before, next.events[name], 'payload', 'narrow')
    record(diff, where, problems, hit(use.subscribers?.[name]), same(before, next.events[name]))
  }
  for (const name of Object.keys(next.events)) {
    if (!(name in running.events)) diff.compatible.push({ where: `event ${name}`, what: 'added' })
  }
  return diff
}

function record(
  diff: ContractDiff,
  where: string,
  problems: CoverageProblem[],
  users: string,
  unchanged: boolean,
): void {
  for (const p of problems) diff.breaking.push({ where: `${where} ${p.path}`, what: `${p.reason}${users}` })
  if (problems.length === 0 && !unchanged) diff.compatible.push({ where, what: 'schema changed compatibly' })
}

/** The diff for people: what breaks first, each line a place and what changed there. */
export function formatContractDiff(diff: ContractDiff): string {
  const lines = [`${diff.service} ${diff.from} → ${diff.to}`]
  if (diff.breaking.length === 0 && diff.compatible.length === 0) lines.push('  no change to the contract')
  for (const c of diff.breaking) lines.push(`  ✗ ${c.where}: ${c.what}`)
  for (const c of diff.compatible) lines.push(`  ✓ ${c.where}: ${c.what}`)
  if (diff.breaking.length > 0)
    lines.push(`${diff.breaking.length} breaking change${diff.breaking.length === 1 ? '' : 's'}`)
  return lines.join('\n')
}

function plain(schema: unknown): unknown {
  return schema === undefined ? undefined : JSON.parse(JSON.stringify(schema))
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}
