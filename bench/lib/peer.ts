// Spawns one bundled peer script (bench/peers/<name>.ts, built next to run.mjs) as a
// server process and waits for its "ready" line. Killed by pid in `stop`.
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Peer {
  readonly pid: number
  /** What the peer printed after "ready " (e.g. a port or a socket path). */
  readonly info: string
  /** Stops the process (SIGTERM, SIGKILL after 2 s) and resolves once it exited. Idempotent. */
  stop(): Promise<void>
  /**
   * Sends `message` over the IPC channel (a peer started with `{ ipc: true }`) and resolves
   * with the peer's next message: peers that measure in their own process answer one
   * request at a time.
   */
  ask(message: unknown): Promise<unknown>
}

// The bundle of run.ts sits in bench/results/build/, the peers in bench/results/build/peers/.
const buildDir = dirname(fileURLToPath(import.meta.url))

const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
})

export async function startPeer(
  name: string,
  env: Record<string, string> = {},
  { ipc = false } = {},
): Promise<Peer> {
  // BENCH_CPU_PROF=<dir>: peers write a CPU profile there when stopped (for `node --cpu-prof` analysis).
  const prof = process.env.BENCH_CPU_PROF
  const flags = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []
  const child = spawn(process.execPath, [...flags, join(buildDir, 'peers', `${name}.mjs`)], {
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
  })
  live.add(child)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const pid = child.pid
      process.kill(pid, 'SIGTERM')
      const timer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 2_000)
      await exited
      clearTimeout(timer)
    }
    await exited
    live.delete(child)
  }
  try {
    const info = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`peer ${name} not ready after 15 s`)), 15_000)
      let out = ''
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const m = /^ready ?(.*)$/m.exec(out)
        if (m) {
          clearTimeout(timer)
          resolve(m[1] ?? '')
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`peer ${name} exited with ${code} before ready`))
      })
    })
    const ask = (message: unknown) =>
      new Promise<unknown>((resolve, reject) => {
        if (!child.send) return reject(new Error(`peer ${name} has no IPC channel`))
        const onExit = (code: number | null) => reject(new Error(`peer ${name} exited with ${code}`))
        child.once('exit', onExit)
        child.once('message', (answer) => {
          child.off('exit', onExit)
          resolve(answer)
        })
        child.send(message as object)
      })
    return { pid: child.pid!, info, stop, ask }
  } catch (err) {
    await stop()
    throw err
  }
}
