import { type ContractDiff, formatContractDiff } from '../../contract/index.ts'
import { controlClient, type SystemStatus } from '../../runtime/index.ts'
import { formatBytes, out } from '../output.ts'
import { controlState, type StateOptions } from '../state.ts'

const client = async (options: StateOptions) => controlClient(await controlState(options))
const progress = (message: string) => out.line(`  ${message}`)

/** One row of `tessera status`: an instance, or a unit that has none. `--json` prints these. */
export interface StatusRow {
  /** The unit's services joined by `+`, or the unit's name when it hosts only adapters (a gateway). */
  service: string
  unit: string
  version: string | null
  instance: string | null
  state: string
  unitState: string
  restarts: number
  pid: number | null
  rssBytes: number | null
  cpuPercent: number | null
  reqPerSec: number | null
}

export function statusRows(s: SystemStatus): StatusRow[] {
  const rows: StatusRow[] = []
  for (const unit of s.units) {
    const base = {
      service: unit.services.join('+') || unit.name,
      unit: unit.name,
      unitState: unit.state,
      restarts: unit.restarts,
    }
    for (const i of unit.instances) {
      rows.push({
        ...base,
        version: i.versions.map((v) => v.version).join('+') || null,
        instance: i.label,
        state: i.state,
        pid: i.pid ?? null,
        rssBytes: i.rssBytes ?? null,
        cpuPercent: i.cpuPercent ?? null,
        reqPerSec: i.reqPerSec,
      })
    }
    if (unit.instances.length === 0)
      rows.push({
        ...base,
        version: null,
        instance: null,
        state: unit.state,
        pid: null,
        rssBytes: null,
        cpuPercent: null,
        reqPerSec: null,
      })
  }
  return rows
}

/** The status table: a header, then one line per row; no cell is ever empty. */
export function statusTable(s: SystemStatus): string[][] {
  const table = [['SERVICE', 'VERSION', 'INSTANCE', 'STATE', 'RESTARTS', 'PID', 'MEM', 'CPU', 'REQ/S']]
  for (const r of statusRows(s)) {
    table.push([
      r.service,
      r.version ?? '-',
      r.instance ?? '-',
      r.instance === null || r.unitState === 'running' ? r.state : `${r.state} (${r.unitState})`,
      String(r.restarts),
      String(r.pid ?? '-'),
      formatBytes(r.rssBytes ?? undefined),
      r.cpuPercent === null ? '-' : `${r.cpuPercent}%`,
      String(r.reqPerSec ?? '-'),
    ])
  }
  return table.map((row) => row.map((cell) => cell || '-'))
}

/**
 * One line per autoscaled unit, under the table: its bounds and target, the value
 * measured over the scale-out window (`-` until covered) and its last step.
 */
export function autoscaleLines(s: SystemStatus): string[] {
  return s.units.flatMap((u) => {
    const a = u.autoscale
    if (!a) return []
    const target =
      a.target.metric === 'inFlight' ? `${a.target.value} in flight per instance` : `p99 ${a.target.value} ms`
    const measured = a.measured === undefined ? '-' : a.measured.toFixed(a.measured < 10 ? 2 : 1)
    const last = a.lastStep
      ? `last ${a.lastStep.from} -> ${a.lastStep.to} (${a.lastStep.reason}) at ${new Date(a.lastStep.at).toISOString()}`
      : 'no step yet'
    return [
      `${u.name}: autoscale ${a.min}..${a.max} at ${target}, ${u.instances.length} now, measured ${measured}, ${last}`,
    ]
  })
}

export async function status(options: StateOptions & { json?: boolean }): Promise<void> {
  const s = await (await client(options)).status()
  if (options.json) return out.line(JSON.stringify(statusRows(s), null, 2))
  out.line(`${s.system} (${s.transport})`)
  // A system over many hosts (`up --host`) also lists its live hosts with their labels.
  const hosts = (s as { hosts?: { name: string; labels: Record<string, string> }[] }).hosts
  if (hosts) out.line(`hosts: ${hosts.map((h) => hostLabel(h)).join(', ')}`)
  out.table(statusTable(s))
  for (const line of autoscaleLines(s)) out.line(line)
}

function hostLabel(h: { name: string; labels: Record<string, string> }): string {
  const labels = Object.entries(h.labels).map(([k, v]) => `${k}=${v}`)
  return labels.length > 0 ? `${h.name} (${labels.join(',')})` : h.name
}

export async function scale(assignments: string[], options: StateOptions): Promise<void> {
  const c = await client(options)
  for (const a of assignments) {
    const match = /^([a-z][a-z0-9-]*)=(\d+)$/.exec(a)
    if (!match) throw new Error(`expected service=count, got ${a}`)
    await c.run('scale', { unit: match[1], instances: Number(match[2]) }, progress)
  }
}

export async function op(
  name: 'restart' | 'deploy' | 'remove',
  unit: string,
  options: StateOptions & { force?: boolean },
): Promise<void> {
  await (await client(options)).run(name, { unit, ...(options.force ? { force: true } : {}) }, progress)
  out.line(`${unit}: ${name} done`)
}

/** `tessera diff <unit>`: what deploying the code on disk would change in the unit's contract. */
export async function diff(unit: string, options: StateOptions): Promise<void> {
  const diffs = (await (await client(options)).run('diff', { unit }, progress)) as ContractDiff[]
  if (diffs.length === 0) out.line(`${unit}: no change to the contract`)
  for (const d of diffs) out.line(formatContractDiff(d))
  if (diffs.some((d) => d.breaking.length > 0)) process.exitCode = 1
}

export async function add(
  name: string,
  entry: string,
  options: StateOptions & { instances?: string; dependsOn?: string[]; memory?: string },
): Promise<void> {
  const service = {
    entry,
    ...(options.instances ? { instances: Number(options.instances) } : {}),
    ...(options.dependsOn ? { dependsOn: options.dependsOn } : {}),
    ...(options.memory ? { memoryMb: Number(options.memory) } : {}),
  }
  await (await client(options)).run('add', { name, service }, progress)
  out.line(`${name}: added`)
}

export async function call(target: string, input: string | undefined, options: StateOptions): Promise<void> {
  const dot = target.indexOf('.')
  if (dot <= 0) throw new Error(`expected service.action, got ${target}`)
  const result = await (await client(options)).run('call', {
    service: target.slice(0, dot),
    action: target.slice(dot + 1),
    input: input === undefined ? {} : JSON.parse(input),
  })
  out.line(JSON.stringify(result, null, 2))
}

export async function down(options: StateOptions): Promise<void> {
  const state = await controlState(options)
  await controlClient(state).run('down', {}, progress)
  // The supervisor process exits on its own once drained; wait so the shell sees a finished down.
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline && alive(state.pid)) await new Promise((r) => setTimeout(r, 100))
  out.line(`${state.system}: down`)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
