import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Broker, createBroker } from '../../../src/broker/index.ts'
import {
  type ClusterStatus,
  type ControlClient,
  controlClient,
  loadSystemKey,
  readControlState,
  SYSTEM_KEY_FILE,
  type SystemConfig,
} from '../../../src/runtime/index.ts'
import { natsTransport } from '../../../src/transport/nats/index.ts'
import { freePort, type NatsServer, startNatsServer } from '../../support/nats-server.ts'

const bin = fileURLToPath(new URL('../../../bin/tessera.mjs', import.meta.url))
export const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))

/**
 * A nats-server with JetStream (the agents' KV) on 127.0.0.1, its store in a temp dir; on
 * `address` instead when given (a veth end, for agents in network namespaces).
 */
export async function startJetStream(address?: string): Promise<NatsServer & { storeDir: string }> {
  const storeDir = await mkdtemp(join(tmpdir(), 'tessera-js-'))
  const port = address ? await freePort() : undefined
  const listen = address ? `\nlisten: ${address}:${port}` : '' // overrides the helper's 127.0.0.1
  const server = await startNatsServer({
    ...(port ? { port } : {}),
    extraConfig: `jetstream { store_dir: ${JSON.stringify(storeDir)} }${listen}`,
  })
  const stop = server.stop.bind(server)
  return Object.assign(server, {
    storeDir,
    async stop() {
      await stop()
      await rm(storeDir, { recursive: true, force: true })
    },
  })
}

/** One agent process (`tessera up --host`), in a process group of its own with its instances. */
export interface AgentProcess {
  host: string
  child: ChildProcess
  /** Everything it printed, for a failing test's report. */
  output: string[]
  control(): Promise<ControlClient>
  /** SIGKILLs the agent and every instance it started (the whole process group). */
  killAll(): void
  exited: Promise<number | null>
}

export interface Cluster extends AsyncDisposable {
  dir: string
  configFile: string
  /** Runs the CLI (`tessera <args> -c <config>`) and resolves with what it printed. */
  cli(...args: string[]): Promise<string>
  /** Starts the CLI and leaves it running (`logs -f`): its lines so far; SIGINTed on dispose. */
  spawnCli(...args: string[]): { lines: string[]; stop(): Promise<void> }
  config: SystemConfig
  agents: Map<string, AgentProcess>
  /**
   * Starts `tessera up --host <host>` for the system (inside network namespace `netns`
   * if given); resolves once it wrote its control state.
   */
  startAgent(host: string, labels?: string, netns?: string, extra?: string[]): Promise<AgentProcess>
  /** A broker of the test's own in the system, with a credential of its key (unit `client`). */
  client(): Promise<Broker>
  status(via: string): Promise<ClusterStatus>
}

/**
 * A system over many hosts made of real processes on 127.0.0.1: the config written to a
 * temp dir (entries are absolute paths into fixtures/), agents started by the CLI, each
 * its own process group. Disposing SIGKILLs every agent group that is still there and
 * removes the dir, also when the test failed.
 */
export async function cluster(
  nats: NatsServer,
  services: SystemConfig['services'],
  name = 'hosts',
  natsUrl: string | string[] = nats.url,
): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-hosts-'))
  const config: SystemConfig = {
    name,
    transport: { kind: 'nats', servers: natsUrl },
    stateDir: join(dir, 'state'),
    services,
    drain: { graceMs: 300, timeoutMs: 5000 },
  }
  const configFile = join(dir, 'tessera.config.mjs')
  await writeFile(configFile, `export default ${JSON.stringify(config, null, 2)}\n`)
  const agents = new Map<string, AgentProcess>()
  const brokers: Broker[] = []
  const spawned: (() => Promise<void>)[] = []

  const startAgent = async (
    host: string,
    labels?: string,
    netns?: string,
    extra: string[] = [],
  ): Promise<AgentProcess> => {
    const args = [
      bin,
      'up',
      '--host',
      host,
      '-c',
      configFile,
      '--quiet',
      ...(labels ? ['--labels', labels] : []),
      ...extra,
    ]
    const { child, output, exited } = spawnGroup(process.execPath, args, { netns, tag: host })
    const stateDir = join(config.stateDir!, 'hosts', host)
    const agent: AgentProcess = {
      host,
      child,
      output,
      exited,
      control: async () => controlClient(await readControlState(stateDir)),
      killAll() {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL')
        } catch {}
      },
    }
    agents.set(host, agent)
    const deadline = Date.now() + 60_000
    for (;;) {
      const state = await readControlState(stateDir).catch(() => undefined)
      if (state?.pid === child.pid) break
      if (child.exitCode !== null) throw new Error(`agent ${host} exited:\n${output.join('\n')}`)
      if (Date.now() > deadline) throw new Error(`agent ${host} not up after 60 s:\n${output.join('\n')}`)
      await sleep(100)
    }
    return agent
  }

  return {
    dir,
    configFile,
    async cli(...args) {
      const child = spawn(process.execPath, [bin, ...args, '-c', configFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let text = ''
      child.stdout?.on('data', (c: Buffer) => (text += c))
      child.stderr?.on('data', (c: Buffer) => (text += c))
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
      if (code !== 0) throw new Error(`tessera ${args.join(' ')} exited ${code}:\n${text}`)
      return text
    },
    spawnCli(...args) {
      const child = spawn(process.execPath, [bin, ...args, '-c', configFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const lines: string[] = []
      let rest = ''
      child.stdout?.on('data', (c: Buffer) => {
        const parts = (rest + c.toString()).split('\n')
        rest = parts.pop() ?? ''
        lines.push(...parts.filter(Boolean))
      })
      child.stderr?.on('data', (c: Buffer) => lines.push(`stderr: ${c}`))
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      const stop = async () => {
        if (child.exitCode === null) child.kill('SIGINT')
        await Promise.race([exited, sleep(5000)])
        if (child.exitCode === null) child.kill('SIGKILL')
      }
      spawned.push(stop)
      return { lines, stop }
    },
    config,
    agents,
    startAgent,
    async client() {
      const key = loadSystemKey(join(config.stateDir!, SYSTEM_KEY_FILE))
      const nodeId = `hosts-test-client-${process.pid}-${brokers.length}`
      const credential = key.authority.issue({
        node: nodeId,
        unit: 'client',
        services: [],
        assertsPrincipal: false,
      })
      const broker = createBroker({
        nodeId,
        credential,
        transport: natsTransport({ servers: natsUrl, namespace: `${name}-${key.stateKey}`, credential }),
      })
      await broker.start()
      brokers.push(broker)
      return broker
    },
    async status(via) {
      const agent = agents.get(via)
      if (!agent) throw new Error(`no agent ${via}`)
      return (await (await agent.control()).status()) as ClusterStatus
    },
    async [Symbol.asyncDispose]() {
      for (const stop of spawned) await stop()
      for (const b of brokers) await b.stop().catch(() => {})
      for (const a of agents.values()) a.killAll()
      await Promise.all([...agents.values()].map((a) => Promise.race([a.exited, sleep(5000)])))
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/**
 * `--lease-ttl 6000` for tests that are not about lease timing: with the default 2 s an
 * agent fences itself when its event loop stalls past 1.5 s, which a machine busy with
 * other tests can do. Views of other hosts then lag up to one renewal, 1.5 s.
 */
export const CALM_LEASE = ['--lease-ttl', '6000']

/**
 * Spawns `file args` as a process group of its own (so the test can SIGKILL it whole),
 * inside network namespace `netns` when given, collecting its output lines (also printed,
 * tagged, with TESSERA_TEST_LOGS). In a namespace nsenter joins only its network (`ip
 * netns exec` also mounts a fresh /sys, where the runtime's cgroup probe hangs) and execs
 * the program: the pid stays the program's.
 */
export function spawnGroup(
  file: string,
  args: string[],
  o: { netns?: string | undefined; env?: NodeJS.ProcessEnv | undefined; tag: string },
): { child: ChildProcess; output: string[]; exited: Promise<number | null> } {
  const options: SpawnOptions = {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: o.env ?? process.env,
  }
  const child = o.netns
    ? spawn('nsenter', [`--net=/run/netns/${o.netns}`, file, ...args], options)
    : spawn(file, args, options)
  const output: string[] = []
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line) output.push(line)
    if (process.env.TESSERA_TEST_LOGS) process.stdout.write(`[${o.tag}] ${chunk}`)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output, exited }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `check` every 100 ms until it holds; throws `what` after `timeoutMs`. */
export async function until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** Ready instances of `unit` per host, from a cluster status (labels end in `@host`). */
export function readyByHost(s: ClusterStatus, unit: string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const i of s.units.find((u) => u.name === unit)?.instances ?? []) {
    if (i.state !== 'ready') continue
    const host = i.label.slice(i.label.lastIndexOf('@') + 1)
    counts[host] = (counts[host] ?? 0) + 1
  }
  return counts
}

/** How an open-loop load fared: every call issued, and how each ended. */
export interface LoadTally {
  issued: number
  ok: number
  /** Failed calls by error code (TIMEOUT: it hung to its deadline). */
  failed: Record<string, number>
  reasons: string[]
  okKeys: string[]
  /** Longest time from issue to failure of any failed call, ms (0: none failed). */
  slowestFailureMs: number
}

/**
 * Calls `call(key)` `ratePerSec` times a second on a fixed schedule (open loop: a slow
 * answer never delays the next call) until `stop`, which waits for every call to settle.
 */
export function openLoad(
  name: string,
  ratePerSec: number,
  call: (key: string) => Promise<unknown>,
): { stop(): Promise<LoadTally> } {
  const t: LoadTally = { issued: 0, ok: 0, failed: {}, reasons: [], okKeys: [], slowestFailureMs: 0 }
  const inFlight = new Set<Promise<void>>()
  const started = Date.now()
  const periodMs = 1000 / ratePerSec
  const timer = setInterval(
    () => {
      const due = Math.floor((Date.now() - started) / periodMs)
      while (t.issued < due) {
        const key = `${name}-${t.issued++}`
        const issuedAt = Date.now()
        const p: Promise<void> = call(key).then(
          () => {
            t.ok++
            t.okKeys.push(key)
          },
          (err: { code?: string; message?: string }) => {
            const code = err.code ?? 'THROWN'
            t.failed[code] = (t.failed[code] ?? 0) + 1
            t.slowestFailureMs = Math.max(t.slowestFailureMs, Date.now() - issuedAt)
            t.reasons.push(`${key}: ${err.message}`)
          },
        )
        const tracked = p.finally(() => inFlight.delete(tracked))
        inFlight.add(tracked)
      }
    },
    Math.max(1, Math.floor(periodMs / 2)),
  )
  return {
    async stop() {
      clearInterval(timer)
      await Promise.all([...inFlight])
      return t
    },
  }
}
