// Simulated announcers for the discovery benchmark (bench/discovery.ts) and the
// nats-scale system test: SIM_COUNT node identities of unit `sim` in this process, all on
// ONE NATS connection, speaking the discovery protocol of docs/protocol.md §6.
//
// Why one connection is faithful here: every identity has its own subscription to its
// own node subject, so the server routes, counts and answers "no responders" per
// identity exactly as for one node per connection; a SIGKILL of this process closes the
// connection and removes every identity's subscription at once, as a crash of that many
// processes would. What is shared: one subscription to the discovery subject, read for
// the HELLOs of nodes that hold a registry (the announcers call nobody, so they keep no
// registry and need nothing else from it); a real node subscribes once itself.
//
// Env: NATS_URL, SIM_NAMESPACE, SIM_COUNT, SIM_PREFIX (node ids are <prefix>-<i>),
// SIM_MODE 'probe' (announces PROBE_META, sends no heartbeat: the current protocol) or
// 'heartbeat' (no PROBE_META, a PING every SIM_HEARTBEAT_MS: the protocol before
// decision 0023). Prints "connected" once subscribed; on the stdin line "hello" every
// identity says HELLO and it prints "announced"; on "leave" every identity says BYE and
// the process exits 0.
import { createInterface } from 'node:readline'
import { connect } from 'nats'
import { decodeEnvelope, encodeEnvelope } from '../src/codec/index.ts'
import { PROBE_META } from '../src/transport/nats/probe-share.ts'
import { natsSubjects } from '../src/transport/nats/subjects.ts'
import type { NodeInfo } from '../src/wire/index.ts'

const env = process.env
const count = Number(env.SIM_COUNT ?? 100)
const prefix = env.SIM_PREFIX ?? `sim${process.pid}`
const mode = env.SIM_MODE === 'heartbeat' ? 'heartbeat' : 'probe'
const heartbeatMs = Number(env.SIM_HEARTBEAT_MS ?? 500)
const namespace = env.SIM_NAMESPACE ?? 'default'
const UNIT = 'sim'
/** Services spread over the announcers: 50 of them, so each has count/50 instances. */
const SERVICES = 50

const nc = await connect({ servers: env.NATS_URL ?? 'nats://127.0.0.1:4222', name: `sim:${prefix}` })

interface Identity {
  subjects: ReturnType<typeof natsSubjects>
  hello: Uint8Array
  announce: Uint8Array
  bye: Uint8Array
}

const ping = encodeEnvelope({ kind: 'ping', n: 1 })
const identities: Identity[] = []
for (let i = 0; i < count; i++) {
  const nodeId = `${prefix}-${i}`
  const subjects = natsSubjects(namespace, nodeId, UNIT)
  const info: NodeInfo = {
    nodeId,
    seq: 1,
    services: [
      {
        name: `svc${i % SERVICES}`,
        version: '1.0.0',
        actions: { get: { idempotent: true }, put: { idempotent: false } },
        subscriptions: {},
      },
    ],
    meta: mode === 'probe' ? { pid: process.pid, [PROBE_META]: 1 } : { pid: process.pid },
  }
  const identity: Identity = {
    subjects,
    hello: encodeEnvelope({ kind: 'hello', info }),
    announce: encodeEnvelope({ kind: 'announce', info }),
    bye: encodeEnvelope({ kind: 'bye', nodeId }),
  }
  identities.push(identity)
  // Direct HELLOs (a node asking) are answered; probes and anything else are ignored.
  nc.subscribe(subjects.inbox, {
    callback: (_err, msg) => {
      if (msg.data[1] !== 0x10) return // not [16, …]: only HELLO needs an answer
      const [fromUnit, from] = msg.subject.slice(subjects.inboxPrefix.length).split('.')
      nc.publish(subjects.toPeer(fromUnit!, from!), identity.announce)
    },
  })
}

// Broadcast HELLOs of registry holders (anything not of unit sim) get every identity's ANNOUNCE.
const discoveryPrefix = identities[0]!.subjects.discoveryPrefix
nc.subscribe(`${discoveryPrefix}*.*`, {
  callback: (_err, msg) => {
    const rest = msg.subject.slice(discoveryPrefix.length)
    if (rest.startsWith(`${UNIT}.`)) return
    let kind: string
    try {
      kind = decodeEnvelope(msg.data).kind
    } catch {
      return
    }
    if (kind !== 'hello') return
    const [fromUnit, from] = rest.split('.')
    for (const identity of identities)
      nc.publish(identity.subjects.toPeer(fromUnit!, from!), identity.announce)
  },
})
await nc.flush()
process.stdout.write('connected\n')

const timers: NodeJS.Timeout[] = []
function hello(): void {
  for (const identity of identities) nc.publish(identity.subjects.ownDiscovery, identity.hello)
  if (mode === 'heartbeat') {
    // Spread over the period, as independent nodes would be.
    for (const identity of identities) {
      const start = setTimeout(() => {
        timers.push(setInterval(() => nc.publish(identity.subjects.ownDiscovery, ping), heartbeatMs))
      }, Math.random() * heartbeatMs)
      timers.push(start)
    }
  }
}

async function leave(): Promise<void> {
  for (const t of timers) clearTimeout(t)
  for (const identity of identities) nc.publish(identity.subjects.ownDiscovery, identity.bye)
  await nc.flush()
  await nc.close()
  process.exit(0)
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'hello') {
    hello()
    await nc.flush()
    process.stdout.write('announced\n')
  } else if (line === 'leave') {
    await leave()
  }
}
