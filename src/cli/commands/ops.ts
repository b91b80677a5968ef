import { controlClient } from '../../runtime/index.ts'
import { formatBytes, out } from '../output.ts'
import { controlState, type StateOptions } from '../state.ts'

const client = async (options: StateOptions) => controlClient(await controlState(options))
const progress = (message: string) => out.line(`  ${message}`)

export async function status(options: StateOptions & { json?: boolean }): Promise<void> {
  const s = await (await client(options)).status()
  if (options.json) return out.line(JSON.stringify(s, null, 2))
  out.line(`${s.system} (${s.transport})`)
  const rows = [['SERVICE', 'VERSION', 'INSTANCE', 'STATE', 'RESTARTS', 'PID', 'MEM', 'CPU', 'REQ/S']]
  for (const unit of s.units) {
    for (const i of unit.instances) {
      rows.push([
        unit.services.join('+'),
        i.versions.map((v) => v.version).join('+') || '-',
        i.label,
        unit.state === 'running' ? i.state : `${i.state} (${unit.state})`,
        String(unit.restarts),
        String(i.pid ?? '-'),
        formatBytes(i.rssBytes),
        i.cpuPercent === undefined ? '-' : `${i.cpuPercent}%`,
        String(i.reqPerSec),
      ])
    }
    if (unit.instances.length === 0)
      rows.push([unit.services.join('+'), '-', '-', unit.state, String(unit.restarts), '-', '-', '-', '-'])
  }
  out.table(rows)
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
  options: StateOptions,
): Promise<void> {
  await (await client(options)).run(name, { unit }, progress)
  out.line(`${unit}: ${name} done`)
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
