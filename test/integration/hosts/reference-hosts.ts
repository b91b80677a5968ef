import type { ChildProcess } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { authorityKey } from '../../../src/identity/index.ts'
import { type ClusterStatus, readControlState } from '../../../src/runtime/index.ts'
import type { NetSwitch } from './netns.ts'
import { sleep, spawnGroup } from './support.ts'

const bin = fileURLToPath(new URL('../../../bin/tessera.mjs', import.meta.url))
const relayScript = fileURLToPath(new URL('./fixtures/tcp-relay.mjs', import.meta.url))
/** The reference system's config with the 3-host test's counts and placement laid over it. */
export const referenceConfig = fileURLToPath(new URL('./fixtures/reference-hosts.config.ts', import.meta.url))
/** Every host's gateway listens on this port of its own address. */
export const GATEWAY_PORT = 8080

/** A child process owned by the test: SIGKILLed (its whole group) on dispose or exit. */
export interface Owned {
  child: ChildProcess
  output: string[]
  exited: Promise<number | null>
  killAll(): void
}

const owned = new Set<Owned>()
process.once('exit', () => {
  for (const o of owned) o.killAll()
})

/** Spawns `file args` (inside network namespace `netns` when given), its own process group, owned. */
export function own(file: string, args: string[], netns?: string, env?: NodeJS.ProcessEnv, tag = ''): Owned {
  const { child, output, exited } = spawnGroup(file, args, { netns, env, tag })
  const o: Owned = {
    child,
    output,
    exited,
    killAll() {
      try {
        if (child.pid && child.exitCode === null && child.signalCode === null)
          process.kill(-child.pid, 'SIGKILL')
      } catch {}
    },
  }
  owned.add(o)
  void exited.then(() => owned.delete(o))
  return o
}

/** A TCP relay (fixtures/tcp-relay.mjs) listening on `host` (port picked), piping to `target`. */
export async function relay(
  host: string,
  target: { host: string; port: number },
  netns?: string,
): Promise<Owned & { port: number }> {
  const r = own(
    process.execPath,
    [relayScript, host, '0', target.host, String(target.port)],
    netns,
    undefined,
    'relay',
  )
  const deadline = Date.now() + 10_000
  for (;;) {
    const line = r.output.find((l) => l.startsWith('relay '))
    if (line) return Object.assign(r, { port: Number(line.slice(6)) })
    if (r.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`relay on ${host} did not start:\n${r.output.join('\n')}`)
    await sleep(20)
  }
}

export interface ReferenceHosts extends AsyncDisposable {
  /** Host name → its namespace's address (where its gateway listens). */
  addresses: Record<string, string>
  agents: Map<string, Owned>
  /** Starts (or starts again) `tessera up --host <host>`; resolves once it wrote its control state. */
  startAgent(host: string): Promise<Owned>
  /** The whole system's status, as host a's agent reports it (through a relay into a). */
  status(): Promise<ClusterStatus>
  /** Runs `tessera <args> --host <host> -c <config>` inside that host's namespace. */
  cli(host: string, ...args: string[]): Promise<string>
  /** `http://<address>:8080` of the hosts placed to run the gateway (a and b). */
  gateways: string[]
}

export interface ReferenceHostsOptions {
  net: NetSwitch
  natsUrls: string[]
  databaseUrl: string
  leaseTtlMs: number
}

/**
 * The reference system over three hosts a, b, c: the switch's namespaces 0, 1, 2. Each
 * agent gets the environment the docs give (TESSERA_TRANSPORT=nats, NATS_URL, the one
 * system key and access-token key, DATABASE_URL, PORT, GATEWAY_HOST = its address) and a
 * state folder of its own. Disposing SIGKILLs every agent group and relay and removes the
 * folder, also when the test failed.
 */
export async function startReferenceHosts(options: ReferenceHostsOptions): Promise<ReferenceHosts> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-refhosts-'))
  const hosts = ['a', 'b', 'c']
  const addresses = Object.fromEntries(hosts.map((h, i) => [h, options.net.hosts[i]!.innerAddress]))
  const nsOf = Object.fromEntries(hosts.map((h, i) => [h, options.net.hosts[i]!.name]))
  const { privateKey } = generateKeyPairSync('ed25519')
  const shared = {
    TESSERA_TRANSPORT: 'nats',
    NATS_URL: options.natsUrls.join(','),
    TESSERA_SYSTEM_KEY: authorityKey(),
    TESSERA_JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    DATABASE_URL: options.databaseUrl,
    // One test client makes every request: the per-client limit (600/min) would refuse it.
    RATE_LIMIT_PER_MINUTE: '1000000',
    TESSERA_TRACE_SAMPLE: '0',
  }
  const envOf = (host: string): NodeJS.ProcessEnv => ({
    ...process.env,
    ...shared,
    REFERENCE_STATE_DIR: join(dir, host),
    TESSERA_DATA_DIR: join(dir, host, 'data'),
    PORT: String(GATEWAY_PORT),
    GATEWAY_HOST: addresses[host],
  })
  const agents = new Map<string, Owned>()
  const relays: Owned[] = []
  let control: { url: string; token: string; pid: number } | undefined

  const startAgent = async (host: string) => {
    const args = [
      bin,
      'up',
      '--host',
      host,
      '-c',
      referenceConfig,
      '--quiet',
      '--lease-ttl',
      String(options.leaseTtlMs),
    ]
    const agent = own(process.execPath, args, nsOf[host], envOf(host), host)
    agents.set(host, agent)
    const stateDir = join(dir, host, 'hosts', host)
    const deadline = Date.now() + 90_000
    for (;;) {
      const state = await readControlState(stateDir).catch(() => undefined)
      if (state && state.pid === agent.child.pid) {
        if (host === 'a') {
          const r = await relay(addresses.a!, { host: '127.0.0.1', port: state.port }, nsOf.a)
          relays.push(r)
          control = { url: `http://${addresses.a}:${r.port}`, token: state.token, pid: state.pid }
        }
        return agent
      }
      if (agent.child.exitCode !== null) throw new Error(`agent ${host} exited:\n${agent.output.join('\n')}`)
      if (Date.now() > deadline)
        throw new Error(`agent ${host} not up after 90 s:\n${agent.output.join('\n')}`)
      await sleep(100)
    }
  }

  return {
    addresses,
    agents,
    startAgent,
    gateways: ['a', 'b'].map((h) => `http://${addresses[h]}:${GATEWAY_PORT}`),
    async status() {
      if (!control) throw new Error('agent a is not up')
      // a's view of the others comes over NATS: while every server is down (or a is cut
      // off) it answers 503 or not at all. Asked again for 30 s, as an operator would.
      const deadline = Date.now() + 30_000
      for (;;) {
        let why: string
        try {
          const res = await fetch(`${control.url}/status`, {
            headers: { authorization: `Bearer ${control.token}` },
            signal: AbortSignal.timeout(5_000),
          })
          if (res.ok) return (await res.json()) as ClusterStatus
          why = `status answered ${res.status}: ${(await res.text()).slice(0, 200)}`
        } catch (err) {
          why = `status: ${(err as Error).message}`
        }
        if (Date.now() > deadline) throw new Error(why)
        await sleep(250)
      }
    },
    async cli(host, ...args) {
      const child = own(
        process.execPath,
        [bin, ...args, '--host', host, '-c', referenceConfig],
        nsOf[host],
        envOf(host),
        `cli ${host}`,
      )
      const code = await child.exited
      if (code !== 0)
        throw new Error(
          `tessera ${args.join(' ')} --host ${host} exited ${code}:\n${child.output.join('\n')}`,
        )
      return child.output.join('\n')
    },
    async [Symbol.asyncDispose]() {
      for (const a of agents.values()) a.killAll()
      for (const r of relays) r.killAll()
      await Promise.all([...agents.values(), ...relays].map((a) => Promise.race([a.exited, sleep(5000)])))
      // What instances wrote to stderr (a crash's stack, a warning) goes before the folder:
      // the agents' output only says that an instance crashed, not why.
      for (const line of await stderrOfInstances(dir, Object.keys(nsOf))) console.info(line)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** The last lines instances wrote to stderr, from every host's unit logs, each with its host and unit. */
async function stderrOfInstances(dir: string, hosts: string[]): Promise<string[]> {
  const out: string[] = []
  let scanned = 0
  for (const host of hosts) {
    const logs = join(dir, host, 'hosts', host, 'logs')
    const files = await readdir(logs).catch(() => [] as string[])
    for (const file of files.filter((f) => f.endsWith('.log'))) {
      scanned++
      const lines = (await readFile(join(logs, file), 'utf8')).split('\n')
      const stderr = lines.filter((l) => l.includes('"stream":"stderr"')).slice(-20)
      for (const line of stderr) out.push(`stderr ${host}/${file.slice(0, -4)}: ${line.slice(0, 600)}`)
    }
  }
  return [`instances' stderr, from ${scanned} unit logs: ${out.length} line(s)`, ...out]
}
