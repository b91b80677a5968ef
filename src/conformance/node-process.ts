import { type ChildProcess, spawn } from 'node:child_process'

/** The node under test, started from the command line the runner was given. */
export interface NodeProcess {
  readonly pid: number | undefined
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<string>
  /** The last lines it wrote to stdout and stderr, for failure details. */
  output(): string
  /** SIGTERM (a clean leave is asked for); resolves false if it did not exit within `ms`. */
  terminate(ms: number): Promise<boolean>
  /** SIGKILL unless it has exited; resolves once it has. */
  kill(): Promise<void>
}

/**
 * Spawns `command` (argv form, no shell) with `env` added to this process's environment.
 * Output is kept (the last 8 KiB), not printed.
 */
export function startNodeProcess(command: string[], env: Record<string, string>): NodeProcess {
  const [file, ...args] = command
  if (file === undefined) throw new Error('no command to start the node under test')
  const child: ChildProcess = spawn(file, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let tail = ''
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8192)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  let done = false
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => {
      done = true
      resolve(`failed to start: ${err.message}`)
    })
    child.once('exit', (code, signal) => {
      done = true
      resolve(signal ? `signal ${signal}` : `exit code ${code}`)
    })
  })
  const within = (ms: number) =>
    Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))])
  return {
    pid: child.pid,
    exited,
    output: () => tail,
    async terminate(ms) {
      if (!done) child.kill('SIGTERM')
      return within(ms)
    },
    async kill() {
      if (!done) child.kill('SIGKILL')
      await exited
    },
  }
}
