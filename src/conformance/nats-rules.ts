import { randomBytes } from 'node:crypto'
import { CONFORMANCE_ENV, CONFORMANCE_SERVICE, ODD_NODE_ID } from './environment.ts'
import type { Seen } from './nats-peer.ts'
import { NatsPeer } from './nats-peer.ts'
import { probingRules } from './nats-probing.ts'
import { startNodeProcess } from './node-process.ts'
import {
  checkNodeInfo,
  ECHO_VALUE,
  errorOf,
  okOutput,
  PROBE_INFO,
  request,
  runnerInfo,
  sameValue,
} from './peer-messages.ts'
import { expect, type Results } from './rule-result.ts'
import { subjectToken } from './subject-token.ts'
import type { Received } from './wire-frame.ts'

const RUNNER = 'conformance-runner'
const UNIT = '_'
const START_MS = 15_000
const BATCH_META = 'tessera.nats.batch'

/**
 * Runs the NATS rules (docs/protocol.md §3, §5, §6) against a node started with
 * `command`, in a fresh namespace on the server at `url`. The node is stopped
 * (SIGTERM, then SIGKILL) also when a rule throws.
 */
export async function runNatsRules(command: string[], url: string, results: Results): Promise<void> {
  const namespace = `conformance-${randomBytes(4).toString('hex')}`
  const peer = await NatsPeer.open(url, namespace)
  const nodeId = ODD_NODE_ID
  const token = subjectToken(nodeId)
  // The runner as a live peer: it heartbeats, and answers probe.echo calls addressed to it.
  const seq = 1
  const beat = setInterval(() => peer.publish(`discovery.${UNIT}.${RUNNER}`, [{ kind: 'ping', n: seq }]), 400)
  peer.onSeen = (s) => {
    if (s.tokens[0] !== 'node' || s.tokens[2] !== RUNNER) return
    for (const r of s.messages) {
      const env = r.env
      if (env?.kind === 'request' && env.service === 'probe' && env.action === 'echo') {
        peer.publish(`node.${s.tokens[3]}.${s.tokens[4]}.${UNIT}.${RUNNER}`, [
          { kind: 'response', id: env.id, ok: true, output: env.input },
        ])
      }
    }
  }
  const node = startNodeProcess(command, {
    [CONFORMANCE_ENV.transport]: 'nats',
    [CONFORMANCE_ENV.nodeId]: nodeId,
    [CONFORMANCE_ENV.natsUrl]: url,
    [CONFORMANCE_ENV.namespace]: namespace,
    [CONFORMANCE_ENV.service]: CONFORMANCE_SERVICE,
  })
  const to = (from: string) => `node.${UNIT}.${token}.${UNIT}.${from}`
  /** Messages from the node to runner identity `id`, as the subject names them. */
  const toRunner = (id: string) => (s: Seen) => s.tokens[0] === 'node' && s.tokens[2] === id
  try {
    // §6.3: HELLO on the discovery subject, under the escaped id (§6.1). Only there: a
    // node that hears the runner's PING before it said HELLO sends the runner a direct
    // HELLO first (asks-unknown-pinger), which is not the one this rule is about.
    const hello = await peer
      .next(
        (s, r) => s.tokens[0] === 'discovery' && r.kindNo === 16 && nodeIdIn(r) === nodeId,
        START_MS,
        'a HELLO naming the node id on the discovery subject',
      )
      .catch((err: Error) => err)
    if (hello instanceof Error) {
      const exit = await Promise.race([
        node.exited,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 10)),
      ])
      results.fail(
        'hello-on-discovery',
        '§6.3',
        `${hello.message}${exit ? ` (the node exited: ${exit}; ${node.output().slice(-400)})` : ''}`,
      )
      return
    }
    results.pass('hello-on-discovery', '§6.3')
    const discoveryToken = hello.seen.tokens.slice(1).join('.')
    results.add(
      'subject-escaping',
      '§6.1',
      hello.seen.tokens[0] === 'discovery' && discoveryToken === `${UNIT}.${token}`,
      hello.seen.tokens[0] === 'discovery' && discoveryToken === `${UNIT}.${token}`
        ? token
        : `HELLO published on ${hello.seen.subject}, expected ${peer.base}.discovery.${UNIT}.${token}`,
    )
    let batches = false
    let nodeMeta: Record<string, string | number> | undefined
    await results.check('nodeinfo-valid', '§3.5', async () => {
      const info = checkNodeInfo(hello.got, 'hello', nodeId)
      nodeMeta = info.meta
      batches = info.meta?.[BATCH_META] === 1
      return `seq ${info.seq}${batches ? ', reads batches' : ''}`
    })

    // §6.3: our HELLO is answered by an ANNOUNCE sent to our node subject, from the right sender tokens.
    let mark = peer.seen.length
    peer.publish(`discovery.${UNIT}.${RUNNER}`, [
      { kind: 'hello', info: runnerInfo(RUNNER, seq, [PROBE_INFO], { [BATCH_META]: 1 }) },
    ])
    await results.check('hello-answered-directly', '§6.3', async () => {
      const { seen, got } = await peer.next(
        (s, r) => toRunner(RUNNER)(s) && r.kindNo === 17,
        5000,
        `an ANNOUNCE on ${peer.base}.node.${UNIT}.${RUNNER}.…`,
        mark,
      )
      const from = seen.tokens.slice(3).join('.')
      expect(
        from === `${UNIT}.${token}`,
        `sent from ${from}, expected ${UNIT}.${token} (subject ${seen.subject})`,
      )
      checkNodeInfo(got, 'announce', nodeId)
      return undefined
    })

    await results.check('heartbeat-carries-seq', '§6.4', async () => {
      const from = peer.seen.length
      const first = await peer.next(
        (s, r) => isDiscoveryOf(s, token) && r.kindNo === 19,
        2000,
        'a PING',
        from,
      )
      const second = await peer.next(
        (s, r) => isDiscoveryOf(s, token) && r.kindNo === 19 && s !== first.seen,
        2000,
        'a second PING',
        from,
      )
      const n = second.got.env?.kind === 'ping' ? second.got.env.n : undefined
      const seqNow = (hello.got.env?.kind === 'hello' && hello.got.env.info.seq) || undefined
      expect(
        n !== undefined && seqNow !== undefined && n >= seqNow,
        `PING n is ${n}, the node's seq ${seqNow}`,
      )
      return `n = ${n}`
    })

    const call = async (env: ReturnType<typeof request>, what: string, ms = 5000): Promise<Received> => {
      const from = peer.seen.length
      peer.publish(to(RUNNER), [env], `nr.${UNIT}.${RUNNER}.${token}`)
      const { got } = await peer.next(
        (s, r) => toRunner(RUNNER)(s) && r.env?.kind === 'response' && r.env.id === env.id,
        ms,
        what,
        from,
      )
      return got
    }
    await results.check('request-answered', '§5.1', async () => {
      const req = request('echo', ECHO_VALUE)
      const output = okOutput(await call(req, 'the echo response'), req.id)
      expect(sameValue(output, ECHO_VALUE), `echo answered ${JSON.stringify(output)}`)
      return undefined
    })
    await results.check('typed-error', '§5.1', async () => {
      const req = request('fail', { code: 'CONFLICT', message: 'asked to conflict' })
      const message = errorOf(await call(req, 'the fail response'), req.id, 'CONFLICT')
      expect(message === 'asked to conflict', `message ${JSON.stringify(message)}`)
      return undefined
    })
    await results.check('unknown-action', '§5.2', async () => {
      const req = request('no-such-action', {})
      errorOf(await call(req, 'the response'), req.id, 'NOT_FOUND')
      return undefined
    })
    await results.check('unknown-service', '§5.2', async () => {
      const req = request('echo', {}, 'no-such-service')
      errorOf(await call(req, 'the response'), req.id, 'UNAVAILABLE')
      return undefined
    })
    await results.check('cancel-stops-handler', '§5.3', async () => {
      const req = request('wait', { ms: 20_000 }, CONFORMANCE_SERVICE, 30_000)
      const answer = call(req, 'the CANCELLED answer', 3500)
      await new Promise((r) => setTimeout(r, 300))
      peer.publish(to(RUNNER), [{ kind: 'cancel', id: req.id }], `nr.${UNIT}.${RUNNER}.${token}`)
      errorOf(await answer, req.id, 'CANCELLED')
      return undefined
    })
    await results.check('calls-out', '§5.1', async () => {
      const req = request('relay', { value: 'from the runner' })
      const output = okOutput(
        await call(req, 'the relay response (it calls probe.echo on the runner)'),
        req.id,
      )
      expect(sameValue(output, { value: 'from the runner' }), `relay answered ${JSON.stringify(output)}`)
      return undefined
    })
    await results.check('reads-batches', '§6.2', async () => {
      if (!batches) return `not applicable: the node does not announce "${BATCH_META}": 1`
      const a = request('echo', { n: 1 })
      const b = request('echo', { n: 2 })
      const from = peer.seen.length
      peer.publish(to(RUNNER), [a, b], `nr.${UNIT}.${RUNNER}.${token}`)
      for (const req of [a, b]) {
        const { got } = await peer.next(
          (s, r) => toRunner(RUNNER)(s) && r.env?.kind === 'response' && r.env.id === req.id,
          5000,
          `the answer to request ${req.id} of a batch`,
          from,
        )
        okOutput(got, req.id)
      }
      const broken = peer.seen.slice(from).find((s) => s.broken)
      expect(!broken, `it sent a broken batch: ${broken?.broken}`)
      return undefined
    })

    // §6.3: a PING from a node it does not know is answered with a direct HELLO.
    await results.check('asks-unknown-pinger', '§6.3', async () => {
      mark = peer.seen.length
      peer.publish(`discovery.${UNIT}.conformance-stranger`, [{ kind: 'ping', n: 1 }])
      await peer.next(
        (s, r) => toRunner('conformance-stranger')(s) && r.kindNo === 16,
        3000,
        'a direct HELLO',
        mark,
      )
      return undefined
    })
    // §6.3 / §6.4: a peer that said BYE, or went silent, is forgotten: its next PING is asked about.
    await results.check('bye-forgets-peer', '§6.3', async () => {
      await meet(peer, 'conformance-leaver', token)
      peer.publish(`discovery.${UNIT}.conformance-leaver`, [{ kind: 'bye', nodeId: 'conformance-leaver' }])
      await new Promise((r) => setTimeout(r, 200))
      mark = peer.seen.length
      peer.publish(`discovery.${UNIT}.conformance-leaver`, [{ kind: 'ping', n: 1 }])
      await peer.next(
        (s, r) => toRunner('conformance-leaver')(s) && r.kindNo === 16,
        3000,
        'a direct HELLO after BYE (the node should have forgotten the peer)',
        mark,
      )
      return undefined
    })
    await results.check('silence-forgets-peer', '§6.4', async () => {
      await meet(peer, 'conformance-quiet', token)
      await new Promise((r) => setTimeout(r, 4000))
      mark = peer.seen.length
      peer.publish(`discovery.${UNIT}.conformance-quiet`, [{ kind: 'ping', n: 1 }])
      await peer.next(
        (s, r) => toRunner('conformance-quiet')(s) && r.kindNo === 16,
        3000,
        'a direct HELLO after 4 s of silence (the node should have dropped the peer)',
        mark,
      )
      return undefined
    })
    await probingRules(peer, token, nodeMeta, RUNNER, results)

    mark = peer.seen.length
    const exited = await node.terminate(10_000)
    await results.check('leave-says-bye', '§6.3', async () => {
      const { got } = await peer.next((s, r) => isDiscoveryOf(s, token) && r.kindNo === 18, 1000, 'BYE', mark)
      expect(got.env?.kind === 'bye' && got.env.nodeId === nodeId, 'BYE does not carry the node id')
      expect(exited, 'the process did not exit within 10 s of SIGTERM')
      return undefined
    })
  } finally {
    clearInterval(beat)
    await node.kill()
    await peer.close()
  }
}

/** HELLO from `id` on the discovery subject; waits for the node's direct ANNOUNCE. */
async function meet(peer: NatsPeer, id: string, token: string): Promise<void> {
  const mark = peer.seen.length
  peer.publish(`discovery.${UNIT}.${id}`, [{ kind: 'hello', info: runnerInfo(id, 1) }])
  await peer.next(
    (s, r) => s.tokens[0] === 'node' && s.tokens[2] === id && s.tokens[4] === token && r.kindNo === 17,
    3000,
    `the ANNOUNCE answering ${id}'s HELLO`,
    mark,
  )
}

function isDiscoveryOf(s: Seen, token: string): boolean {
  return s.tokens[0] === 'discovery' && s.tokens[2] === token
}

/** The node id a HELLO or ANNOUNCE names, read leniently (also from a malformed one). */
function nodeIdIn(r: Received): string | undefined {
  const raw = r.raw
  if (!Array.isArray(raw)) return undefined
  const info = raw[1] as { nodeId?: unknown } | undefined
  return typeof info?.nodeId === 'string' ? info.nodeId : undefined
}
