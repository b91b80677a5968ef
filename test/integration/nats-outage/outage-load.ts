import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'
import { type Broker, createBroker } from '../../../src/broker/index.ts'
import { TesseraError } from '../../../src/errors/index.ts'
import type { Logger } from '../../../src/observability/index.ts'
import { natsTransport } from '../../../src/transport/nats/index.ts'
import type { CounterService } from './fixtures/counter.ts'

const calleeEntry = fileURLToPath(new URL('./fixtures/callee.ts', import.meta.url))

/** How one action fared under load. */
export interface ActionTally {
  issued: number
  ok: number
  /** Calls that ended at their deadline (TIMEOUT): what the fix removes. */
  hung: number
  /** Calls that failed otherwise, by error code. */
  failed: Record<string, number>
  /** Keys of the calls that succeeded, to match against the callee's executions. */
  okKeys: string[]
  /** Keys of the calls that failed without hanging. */
  failedKeys: string[]
  /** Their error messages, for the test's report. */
  reasons: string[]
}

/** An open-loop load: calls start on a fixed schedule whether or not earlier ones ended. */
export interface OpenLoad {
  /** Stops issuing, waits for every call to settle, and returns the tallies. */
  stop(): Promise<{ read: ActionTally; add: ActionTally }>
}

function tally(): ActionTally {
  return { issued: 0, ok: 0, hung: 0, failed: {}, okKeys: [], failedKeys: [], reasons: [] }
}

/**
 * Calls `counter.read` (idempotent) and `counter.add` (not) alternately, `ratePerSec`
 * calls a second in all, each with `timeoutMs`, keyed `<prefix>-<action>-<n>`.
 */
export function startOpenLoad(
  client: Broker,
  prefix: string,
  ratePerSec: number,
  timeoutMs: number,
): OpenLoad {
  const counter = client.client<CounterService>('counter')
  const tallies = { read: tally(), add: tally() }
  const inFlight = new Set<Promise<void>>()
  let n = 0
  const issue = () => {
    const action = n % 2 === 0 ? 'read' : 'add'
    const key = `${prefix}-${action}-${n++}`
    const t = tallies[action]
    t.issued++
    const call = counter[action]({ key }, { timeout: timeoutMs }).then(
      () => {
        t.ok++
        t.okKeys.push(key)
      },
      (err: unknown) => {
        const code = err instanceof TesseraError ? err.code : 'THROWN'
        if (code === 'TIMEOUT') t.hung++
        else {
          t.failed[code] = (t.failed[code] ?? 0) + 1
          t.failedKeys.push(key)
          t.reasons.push(err instanceof Error ? err.message : String(err))
        }
      },
    )
    const tracked = call.finally(() => inFlight.delete(tracked))
    inFlight.add(tracked)
  }
  const started = Date.now()
  const periodMs = 1000 / ratePerSec
  // A fixed schedule from the start time, so a stalled event loop catches up instead
  // of silently lowering the rate.
  const timer = setInterval(
    () => {
      const due = Math.floor((Date.now() - started) / periodMs)
      while (n < due) issue()
    },
    Math.max(1, Math.floor(periodMs / 2)),
  )
  return {
    async stop() {
      clearInterval(timer)
      await Promise.all([...inFlight])
      return tallies
    },
  }
}

/** What a pair may be started with besides its servers. */
export interface PairOptions {
  /** How long the callee's `add` takes (default 2 ms): longer keeps more adds in flight at a fault. */
  addDelayMs?: number
  /** The client transport's logger. */
  logger?: Logger
}

/** A logger that keeps the messages logged (any level), to count what the transport did. */
export function recordingLogger(): Logger & { readonly lines: { msg: string; obj: object }[] } {
  const lines: { msg: string; obj: object }[] = []
  const log = (obj: object, msg?: string) => lines.push({ msg: msg ?? '', obj })
  const logger = { lines, debug: log, info: log, warn: log, error: log, child: () => logger }
  return logger
}

/** The callee process and a client broker in this process, both on `servers`. */
export interface Pair extends AsyncDisposable {
  client: Broker
  callee: ChildProcess
}

/**
 * Starts a `counter` callee in its own process and a client broker here, both on the
 * NATS servers given (each gets all of them and picks one at random), and waits until
 * the client sees the callee. `holdMs` is both transports' (natsTransport). Disposing
 * stops both, also when the test failed.
 */
export async function startPair(
  servers: string[],
  namespace: string,
  holdMs = 5000,
  options: PairOptions = {},
): Promise<Pair> {
  const callee = spawn(process.execPath, ['--import', 'tsx', calleeEntry], {
    env: {
      ...process.env,
      NATS_URLS: servers.join(','),
      NODE_ID: `${namespace}-callee`,
      NAMESPACE: namespace,
      HOLD_MS: String(holdMs),
      ADD_DELAY_MS: String(options.addDelayMs ?? 2),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const client = createBroker({
    nodeId: `${namespace}-client`,
    transport: natsTransport({
      servers,
      namespace,
      holdMs,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
  })
  const dispose = async () => {
    await client.stop().catch(() => {})
    if (callee.exitCode === null && callee.signalCode === null) {
      const exited = new Promise<void>((resolve) => callee.once('exit', () => resolve()))
      callee.kill('SIGKILL')
      await exited
    }
  }
  try {
    await new Promise<void>((resolve, reject) => {
      callee.once('exit', (code) => reject(new Error(`callee exited early with ${code}`)))
      callee.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve()
      })
    })
    await client.start()
    await client.waitFor(['counter'], 10_000)
  } catch (err) {
    await dispose()
    throw err
  }
  return { client, callee, [Symbol.asyncDispose]: dispose }
}

/**
 * How often the callee ran each key of `prefix`, summed over its `instances` instances
 * (each is asked until every one has answered; calls are balanced among them).
 */
export async function executions(
  client: Broker,
  prefix: string,
  instances = 1,
): Promise<Record<string, number>> {
  const counter = client.client<CounterService>('counter')
  const byPid = new Map<number, Record<string, number>>()
  for (let i = 0; i < 100 && byPid.size < instances; i++) {
    const { pid, runs } = await counter.executions({ prefix }, { timeout: 5000 })
    byPid.set(pid, runs)
  }
  if (byPid.size < instances) throw new Error(`only ${byPid.size} of ${instances} instances answered`)
  const total: Record<string, number> = {}
  for (const runs of byPid.values()) {
    for (const [key, n] of Object.entries(runs)) total[key] = (total[key] ?? 0) + n
  }
  return total
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** What a fault did to the load, with the callee's own count of executions. */
export interface OutageResult {
  read: ActionTally
  add: ActionTally
  /** How often the callee ran each key of the run. */
  runs: Record<string, number>
}

/**
 * Runs the open load (100 calls a second, half `read`, half `add`, 5 s deadline each)
 * for 1 s, then `fault`, then `afterMs` more; waits for every call to settle and asks the
 * callee (still the same process) how often it ran each key.
 */
export async function underLoad(
  pair: Pair,
  prefix: string,
  fault: () => Promise<void>,
  afterMs = 2000,
): Promise<OutageResult> {
  const load = startOpenLoad(pair.client, prefix, 100, 5000)
  await sleep(1000)
  await fault()
  await sleep(afterMs)
  const { read, add } = await load.stop()
  const runs = await executions(pair.client, `${prefix}-`)
  return { read, add, runs }
}

/** Keys that ran more than once. */
export function ranTwice(result: OutageResult): string[] {
  return Object.entries(result.runs)
    .filter(([, n]) => n > 1)
    .map(([key]) => key)
}

/** Successful calls the callee has no record of running (must be none). */
export function okButNotRun(tally: ActionTally, runs: Record<string, number>): string[] {
  return tally.okKeys.filter((key) => (runs[key] ?? 0) === 0)
}

/**
 * What every outage test asserts of its load: at least `minIssued` of each action (when
 * given); no call hung to its deadline; every idempotent `read` answered; a
 * non-idempotent `add` either answered or failed fast with UNAVAILABLE (one in flight at
 * the drop may have run, so it is never retried) and none ran twice; nothing answered
 * that the callee has no record of running.
 */
export function expectNothingHungOrLost({ read, add, runs }: OutageResult, minIssued?: number): void {
  if (minIssued !== undefined) {
    expect(read.issued).toBeGreaterThan(minIssued)
    expect(add.issued).toBeGreaterThan(minIssued)
  }
  expect(read.hung).toBe(0)
  expect(add.hung).toBe(0)
  expect(read.failed).toEqual({})
  expect(read.ok).toBe(read.issued)
  expect(Object.keys(add.failed).filter((code) => code !== 'UNAVAILABLE')).toEqual([])
  expect(add.ok + (add.failed.UNAVAILABLE ?? 0)).toBe(add.issued)
  expect(ranTwice({ read, add, runs }).filter((key) => key.includes('-add-'))).toEqual([])
  expect(okButNotRun(read, runs)).toEqual([])
  expect(okButNotRun(add, runs)).toEqual([])
}
