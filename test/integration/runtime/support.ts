import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Broker, createBroker } from '../../../src/broker/index.ts'
import {
  createSupervisor,
  describeEvent,
  type Supervisor,
  type SupervisorEvent,
  type SystemConfig,
} from '../../../src/runtime/index.ts'

export const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))

export interface Running extends AsyncDisposable {
  sup: Supervisor
  /** A broker of the test's own, joined to the system like an outside client. */
  client: Broker
  events: SupervisorEvent[]
}

/**
 * Starts a system from `fixtures/` with its state in a fresh temp dir and a client
 * broker; disposing it brings everything down and removes the dir, also on failure.
 */
export async function runSystem(config: Omit<SystemConfig, 'stateDir'>, root = fixtures): Promise<Running> {
  const stateDir = await mkdtemp(join(tmpdir(), 'tessera-rt-'))
  const events: SupervisorEvent[] = []
  const sup = createSupervisor({
    config: { ...config, stateDir } as SystemConfig,
    root,
    onEvent: (e) => {
      events.push(e)
      if (process.env.TESSERA_TEST_LOGS) console.log(describeEvent(e))
    },
    ...(process.env.TESSERA_TEST_LOGS
      ? { onLog: (l: string, line: string) => console.log(`[${l}] ${line}`) }
      : {}),
  })
  const nodeId = `test-client-${process.pid}`
  const { credential, transport } = await sup.join({ node: nodeId })
  const client = createBroker({ nodeId, credential, transport })
  const cleanup = async () => {
    await client.stop().catch(() => {})
    await sup.down().catch(() => {})
    await rm(stateDir, { recursive: true, force: true })
  }
  try {
    await sup.up()
    await client.start()
    const live = sys(sup)
    await client.waitFor(live, 10_000)
  } catch (err) {
    await cleanup()
    throw err
  }
  return { sup, client, events, [Symbol.asyncDispose]: cleanup }
}

export interface Load {
  ok: number
  failures: string[]
  /** Stops issuing calls and resolves once every call in flight has settled. */
  stop(): Promise<{ ok: number; failures: string[] }>
}

/**
 * A steady load: `concurrency` loops, each calling `call` back to back until stopped
 * (or `maxMs` passed, so a forgotten stop cannot hang a test). Counts successes and failures.
 */
export function startLoad(call: () => Promise<unknown>, concurrency = 6, maxMs = 60_000): Load {
  let running = true
  const started = Date.now()
  const load: Load = {
    ok: 0,
    failures: [],
    async stop() {
      running = false
      await Promise.all(loops)
      return { ok: load.ok, failures: load.failures }
    },
  }
  const loop = async () => {
    while (running && Date.now() - started < maxMs) {
      try {
        await call()
        load.ok++
      } catch (err) {
        load.failures.push(`${(err as { code?: string }).code ?? ''} ${(err as Error).message}`)
        // A call rejected before any I/O settles in a microtask: without a pause the loop
        // would spin on microtasks and starve everything else in this process.
        await sleep(10)
      }
    }
  }
  const loops = Array.from({ length: concurrency }, loop)
  return load
}

/** Polls `check` every 50 ms until it holds; rejects with `what` after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Lets the load run for a while so an operation happens under traffic, not before it. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Services of units that are running (not crash-looping). */
function sys(sup: Supervisor): string[] {
  return sup
    .status()
    .units.filter((u) => u.state === 'running')
    .flatMap((u) => u.services)
}
