import type { NatsPeer, Seen } from './nats-peer.ts'
import { runnerInfo } from './peer-messages.ts'
import { expect, type Results } from './rule-result.ts'

const UNIT = '_'
const PROBE_META = 'tessera.nats.probe'
const WATCH_META = 'tessera.nats.watch'
const ANSWER_META = 'tessera.nats.answers'

/**
 * The probing rules of docs/protocol.md §6.4 (decisions 0023 and 0030), with runner identities that
 * announce `"tessera.nats.probe": 1`. The runner's one wildcard subscription holds every
 * node subject of the namespace, so the server never answers "no responders" for them:
 * these rules check what the node does and does not send, not the server's 503.
 */
export async function probingRules(
  peer: NatsPeer,
  token: string,
  nodeMeta: Record<string, string | number> | undefined,
  runner: string,
  results: Results,
): Promise<void> {
  const to = (id: string) => (s: Seen) =>
    s.tokens[0] === 'node' && s.tokens[2] === id && s.tokens[4] === token
  await results.check('probe-not-answered', '§6.4', async () => {
    const mark = peer.seen.length
    peer.publish(
      `node.${UNIT}.${token}.${UNIT}.${runner}`,
      [{ kind: 'ping', n: 1 }],
      `nr.${UNIT}.${runner}.${token}`,
    )
    await new Promise((r) => setTimeout(r, 1000))
    const answer = peer.seen
      .slice(mark)
      .find((s) => to(runner)(s) && s.messages.some((r) => r.kindNo === 19 || r.kindNo === 20))
    expect(!answer, `a PING on its node subject (a probe) was answered on ${answer?.subject}`)
    return undefined
  })
  await results.check('liveness-ping-answered', '§6.4', async () => {
    if (nodeMeta?.[ANSWER_META] !== 1) return `not applicable: the node does not announce "${ANSWER_META}": 1`
    const mark = peer.seen.length
    peer.publish(
      `node.${UNIT}.${token}.${UNIT}.${runner}`,
      [{ kind: 'ping', n: -7 }],
      `nr.${UNIT}.${runner}.${token}`,
    )
    await peer.next(
      (s, r) => to(runner)(s) && r.env?.kind === 'pong' && r.env.n === -7,
      2000,
      "a PONG with n -7 on the runner's node subject, answering its liveness ping (PING, n -7)",
      mark,
    )
    return undefined
  })
  await results.check('probes-its-share', '§6.4', async () => {
    if (nodeMeta?.[WATCH_META] !== 1) return `not applicable: the node does not announce "${WATCH_META}": 1`
    const id = 'conformance-probed'
    const mark = peer.seen.length
    peer.publish(`discovery.${UNIT}.${id}`, [
      { kind: 'hello', info: runnerInfo(id, 1, [], { [PROBE_META]: 1 }) },
    ])
    // The only watcher it knows besides the peer is itself, so the peer is its share.
    await peer.next(
      (s, r) => to(id)(s) && r.kindNo === 19,
      4000,
      `a probe (PING) on the node subject of ${id}`,
      mark,
    )
    return undefined
  })
  await results.check('probed-not-judged-by-silence', '§6.4', async () => {
    const id = 'conformance-probed-quiet'
    let mark = peer.seen.length
    peer.publish(`discovery.${UNIT}.${id}`, [
      { kind: 'hello', info: runnerInfo(id, 1, [], { [PROBE_META]: 1 }) },
    ])
    await peer.next(
      (s, r) => to(id)(s) && r.kindNo === 17,
      3000,
      `the ANNOUNCE answering ${id}'s HELLO`,
      mark,
    )
    await new Promise((r) => setTimeout(r, 4000))
    mark = peer.seen.length
    peer.publish(`discovery.${UNIT}.${id}`, [{ kind: 'ping', n: 1 }])
    await new Promise((r) => setTimeout(r, 1500))
    const asked = peer.seen.slice(mark).find((s) => to(id)(s) && s.messages.some((r) => r.kindNo === 16))
    expect(
      !asked,
      `after 4 s of silence it asked ${id} (a peer that announces probing) for its info: it had dropped it`,
    )
    return undefined
  })
}
