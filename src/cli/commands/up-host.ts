import { describeEvent, formatLogRecord, startHostSystem } from '../../runtime/index.ts'
import { out, whenStdoutCloses } from '../output.ts'

export interface UpHostOptions {
  config?: string
  host: string
  /** `k=v,k2=v2`. */
  labels?: string
  quiet?: boolean
  /** Lease TTL in ms (every agent of the system should use the same). */
  leaseTtl?: string
}

/**
 * `tessera up --host NAME [--labels k=v,…]`: runs this host's agent of a system over many
 * hosts (docs/hosts.md) in the foreground until SIGINT/SIGTERM or `tessera down --host`
 * (both hand its slots to the other hosts, then drain). Exits 3 when the agent fenced
 * itself (it lost NATS for longer than its leases allow, and killed its instances).
 */
export async function upHost(options: UpHostOptions): Promise<void> {
  const labels = parseLabels(options.labels)
  let stopping: string | undefined
  let shutdown = (signal: string) => {
    stopping ??= signal
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  const running = await startHostSystem({
    ...(options.config ? { configFile: options.config } : {}),
    host: options.host,
    labels,
    ...(options.leaseTtl ? { leaseTtlMs: Number(options.leaseTtl) } : {}),
    onEvent: (e) => out.line(`tessera[${options.host}]: ${describeEvent(e)}`),
    ...(options.quiet ? {} : { onLog: (_l, _line, record) => out.line(formatLogRecord(record)) }),
    progress: (m) => out.line(`tessera[${options.host}]: ${m}`),
    onFenced: (reason) => {
      out.error(`tessera[${options.host}]: fenced (${reason}); every instance here was killed`)
      process.exit(3)
    },
    onDown: () => process.exit(0),
  })
  const { state } = running
  out.line(
    `tessera: ${state.system} host ${options.host} is up; control API on 127.0.0.1:${state.port} (${state.stateDir}/control.json)`,
  )
  let drained = false
  shutdown = (signal: string) => {
    if (drained) return
    drained = true
    out.line(`tessera[${options.host}]: ${signal}: handing over and draining`)
    void running.close().then(() => process.exit(0))
  }
  whenStdoutCloses(() => shutdown('stdout closed'))
  if (stopping) shutdown(stopping)
}

function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const part of (text ?? '').split(',').filter(Boolean)) {
    const eq = part.indexOf('=')
    if (eq <= 0) throw new Error(`--labels takes k=v pairs separated by commas, got "${part}"`)
    labels[part.slice(0, eq).trim()] = part.slice(eq + 1).trim()
  }
  return labels
}
