import { availableParallelism } from 'node:os'
import { Value } from '@sinclair/typebox/value'
import { TesseraError } from '../../errors/index.ts'
import { autoscaleIssues } from './autoscale-config.ts'
import { SystemConfig } from './schema.ts'
import { cpuSum } from './units.ts'

/** One problem in a system config: the dotted field path and what is wrong with it. */
export interface ConfigIssue {
  path: string
  message: string
}

/**
 * Declares a system: its services, which of them share a process, the transport.
 * Returns the config unchanged (typed identity) after validating it; throws a
 * `VALIDATION` TesseraError whose message lists every issue with its exact field,
 * e.g. `services.users.instances: Expected integer`. `data.issues` holds them as data.
 *
 * @example
 * export default defineSystem({
 *   name: 'shop',
 *   transport: { kind: 'socket' },
 *   services: {
 *     users: { entry: './users/service.ts', instances: 3 },
 *     orders: { entry: './orders/service.ts', dependsOn: ['users'] },
 *   },
 * })
 */
export function defineSystem<const C extends SystemConfig>(config: C): C {
  const issues = validateSystem(config)
  if (issues.length > 0) throw configError(issues)
  return config
}

export function configError(issues: ConfigIssue[]): TesseraError {
  const lines = issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`)
  return new TesseraError('VALIDATION', `invalid system config:\n${lines.join('\n')}`, { issues })
}

/**
 * Every issue in `config`, schema first; semantic checks only run on a well-formed config.
 * `cores` (default this machine's, `os.availableParallelism()`) bounds `cpus`: a limit
 * above it could never be given (podman refuses it) nor be met.
 */
export function validateSystem(config: unknown, cores = availableParallelism()): ConfigIssue[] {
  const schemaIssues = [...Value.Errors(SystemConfig, config)].map((e) => ({
    path: e.path.split('/').filter(Boolean).join('.'),
    message: e.message,
  }))
  if (schemaIssues.length > 0) return dedupe(schemaIssues)
  return [...semanticIssues(config as SystemConfig), ...cpuIssues(config as SystemConfig, cores)]
}

/** `cpus` of a service, of a group, and of a group's members added up: none above `cores`. */
function cpuIssues(config: SystemConfig, cores: number): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const machine = `the ${cores} core${cores === 1 ? '' : 's'} of this machine`
  for (const [name, svc] of Object.entries(config.services))
    if (svc.cpus !== undefined && svc.cpus > cores)
      issues.push({ path: `services.${name}.cpus`, message: `${svc.cpus} is more than ${machine}` })
  for (const [group, spec] of Object.entries(config.groups ?? {})) {
    if (spec.cpus !== undefined) {
      if (spec.cpus > cores)
        issues.push({ path: `groups.${group}.cpus`, message: `${spec.cpus} is more than ${machine}` })
      continue
    }
    const sum = spec.services.reduce((a, m) => cpuSum(a, config.services[m]?.cpus ?? 0), 0)
    if (sum > cores)
      issues.push({
        path: `groups.${group}`,
        message: `its members' cpus add up to ${sum}, more than ${machine}: set cpus on the group`,
      })
  }
  return issues
}

function semanticIssues(config: SystemConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const services = Object.keys(config.services)
  if (services.length === 0) issues.push({ path: 'services', message: 'a system needs at least one service' })
  for (const [name, svc] of Object.entries(config.services)) {
    for (const [i, dep] of (svc.dependsOn ?? []).entries()) {
      if (dep === name)
        issues.push({ path: `services.${name}.dependsOn.${i}`, message: 'a service cannot depend on itself' })
      else if (!config.services[dep])
        issues.push({ path: `services.${name}.dependsOn.${i}`, message: `unknown service "${dep}"` })
    }
  }
  const owner = new Map<string, string>()
  for (const [group, spec] of Object.entries(config.groups ?? {})) {
    if (spec.autoscale) issues.push(...autoscaleIssues(`groups.${group}`, spec.autoscale, spec.instances))
    if (config.services[group])
      issues.push({ path: `groups.${group}`, message: `group name collides with service "${group}"` })
    for (const [i, member] of spec.services.entries()) {
      const path = `groups.${group}.services.${i}`
      if (!config.services[member]) issues.push({ path, message: `unknown service "${member}"` })
      else if (owner.has(member))
        issues.push({ path, message: `"${member}" is already in group "${owner.get(member)}"` })
      else owner.set(member, group)
      if (config.services[member]?.autoscale)
        issues.push({
          path: `services.${member}.autoscale`,
          message: `"${member}" runs in group "${group}": set autoscale on the group`,
        })
    }
  }
  for (const [name, svc] of Object.entries(config.services))
    if (svc.autoscale && !owner.has(name))
      issues.push(...autoscaleIssues(`services.${name}`, svc.autoscale, svc.instances))
  if (issues.length === 0) {
    const cycle = findCycle(config)
    if (cycle)
      issues.push({
        path: `services.${cycle[0]}.dependsOn`,
        message: `dependency cycle: ${cycle.join(' -> ')}`,
      })
  }
  return issues
}

function findCycle(config: SystemConfig): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const visit = (name: string): string[] | undefined => {
    const s = state.get(name)
    if (s === 'done') return undefined
    if (s === 'visiting') return [...stack.slice(stack.indexOf(name)), name]
    state.set(name, 'visiting')
    stack.push(name)
    for (const dep of config.services[name]?.dependsOn ?? []) {
      const found = visit(dep)
      if (found) return found
    }
    stack.pop()
    state.set(name, 'done')
    return undefined
  }
  for (const name of Object.keys(config.services)) {
    const found = visit(name)
    if (found) return found
  }
  return undefined
}

// TypeBox reports a union mismatch once per branch; one line per path reads better.
function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>()
  return issues.filter((i) => {
    if (seen.has(i.path)) return false
    seen.add(i.path)
    return true
  })
}
