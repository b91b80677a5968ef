// Processes of simulated announcers (bench/discovery-child.ts), for the discovery
// benchmark and the nats-scale system test. Each process is killed by pid in `stop`
// (and when this process exits), also when a test fails.
import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'

// From the package root (npm and vitest run there; the benchmark runs from a bundle elsewhere).
const child = resolve('bench/discovery-child.ts')

const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of live) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL')
})

/** One process of announcers. */
export interface SimProcess {
  readonly pid: number
  /** The node ids it announces. */
  readonly nodeIds: readonly string[]
  /** Every identity says HELLO; resolves once they are published and flushed. */
  hello(): Promise<void>
  /** Every identity says BYE, then the process exits; resolves once it has. */
  leave(): Promise<void>
  /** SIGKILL; resolves once the process has exited (its connection is closed by the kernel). */
  kill(): Promise<void>
  /** Kills it if still running. Idempotent. */
  stop(): Promise<void>
}

export interface SimOptions {
  natsUrl: string
  namespace: string
  count: number
  prefix: string
  mode: 'probe' | 'heartbeat'
  heartbeatMs?: number
}

/** Starts one process of `count` announcers and resolves once all are subscribed. */
export async function startSims(options: SimOptions): Promise<SimProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], {
    env: {
      ...process.env,
      NATS_URL: options.natsUrl,
      SIM_NAMESPACE: options.namespace,
      SIM_COUNT: String(options.count),
      SIM_PREFIX: options.prefix,
      SIM_MODE: options.mode,
      SIM_HEARTBEAT_MS: String(options.heartbeatMs ?? 500),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  live.add(proc)
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  void exited.then(() => live.delete(proc))
  const waiters: Array<{ line: string; resolve: () => void }> = []
  let buffer = ''
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString()
    let nl = buffer.indexOf('\n')
    while (nl >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      const i = waiters.findIndex((w) => w.line === line)
      if (i >= 0) waiters.splice(i, 1)[0]!.resolve()
      nl = buffer.indexOf('\n')
    }
  })
  const wait = (line: string) =>
    Promise.race([
      new Promise<void>((resolve) => waiters.push({ line, resolve })),
      exited.then(() => {
        throw new Error(`announcer process exited before "${line}"`)
      }),
    ])
  await wait('connected')
  const pid = proc.pid!
  const running = () => proc.exitCode === null && proc.signalCode === null
  return {
    pid,
    nodeIds: Array.from({ length: options.count }, (_, i) => `${options.prefix}-${i}`),
    async hello() {
      const done = wait('announced')
      proc.stdin!.write('hello\n')
      await done
    },
    async leave() {
      proc.stdin!.write('leave\n')
      await exited
    },
    async kill() {
      if (running()) process.kill(pid, 'SIGKILL')
      await exited
    },
    async stop() {
      if (running()) process.kill(pid, 'SIGKILL')
      await exited
    },
  }
}
