import { randomBytes } from 'node:crypto'
import type { Envelope } from '../codec/index.ts'
import {
  createAuthority,
  createNonce,
  loadCredential,
  principalVoucher,
  verifyCertificate,
} from '../identity/index.ts'
import { CONFORMANCE_ENV, CONFORMANCE_SERVICE, ODD_NODE_ID, PROBE_SERVICE } from './environment.ts'
import { NatsPeer, type Seen } from './nats-peer.ts'
import { startNodeProcess } from './node-process.ts'
import { errorOf, okOutput, PROBE_INFO, request, runnerInfo, wireContext } from './peer-messages.ts'
import { expect, type Results } from './rule-result.ts'
import { subjectToken } from './subject-token.ts'
import type { Received } from './wire-frame.ts'

const RUNNER = 'conformance-runner'
const RUNNER_UNIT = 'conformance-runner'
const NODE_UNIT = 'conformance'
const START_MS = 15_000

/**
 * The identity rules over NATS (docs/protocol.md §6.5, §5.5): the node is started again,
 * in a fresh namespace, with a credential of unit `conformance` from an authority made for
 * this run; the runner holds one of unit `conformance-runner` (hosting `probe`, allowed to
 * assert principals). Checks the certificates in HELLO and ANNOUNCE, that announcements
 * without a valid certificate for the subject's node and unit are ignored, and principal
 * proofs on calls.
 */
export async function runNatsIdentityRules(command: string[], url: string, results: Results): Promise<void> {
  const namespace = `conformance-${randomBytes(4).toString('hex')}`
  const authority = createAuthority()
  const nodeId = ODD_NODE_ID
  const token = subjectToken(nodeId)
  const unit = subjectToken(NODE_UNIT)
  const runnerCredential = authority.issue({
    node: RUNNER,
    unit: RUNNER_UNIT,
    services: [PROBE_SERVICE],
    assertsPrincipal: true,
  })
  const runner = loadCredential(runnerCredential)
  const peer = await NatsPeer.open(url, namespace)
  const me = `${RUNNER_UNIT}.${RUNNER}`
  const beat = setInterval(() => peer.publish(`discovery.${me}`, [{ kind: 'ping', n: 1 }]), 400)
  peer.onSeen = (s) => {
    if (s.tokens[0] !== 'node' || `${s.tokens[1]}.${s.tokens[2]}` !== me) return
    for (const r of s.messages) {
      const env = r.env
      if (env?.kind === 'request' && env.service === PROBE_SERVICE && env.action === 'echo') {
        peer.publish(`node.${s.tokens[3]}.${s.tokens[4]}.${me}`, [
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
    [CONFORMANCE_ENV.credential]: JSON.stringify(
      authority.issue({
        node: nodeId,
        unit: NODE_UNIT,
        services: [CONFORMANCE_SERVICE],
        assertsPrincipal: false,
      }),
    ),
  })
  const certified = (got: Received, kind: 'hello' | 'announce'): void => {
    expect(got.env?.kind === kind, `expected ${kind.toUpperCase()}, got ${got.env?.kind ?? got.invalid}`)
    const auth = got.env.auth
    expect(auth, `${kind.toUpperCase()} carries no certificate`)
    const cert = verifyCertificate(auth.certificate, runner.authority)
    expect(cert, `the certificate in ${kind.toUpperCase()} does not verify with the authority`)
    expect(
      cert.identity.node === nodeId && cert.identity.unit === NODE_UNIT,
      'the certificate is not the one given',
    )
  }
  const fromNodeTo = (id: string, unitToken: string) => (s: Seen) =>
    s.tokens[0] === 'node' &&
    s.tokens[1] === unitToken &&
    s.tokens[2] === id &&
    s.tokens[3] === unit &&
    s.tokens[4] === token
  try {
    const hello = await peer
      .next((s, r) => s.tokens[0] === 'discovery' && r.kindNo === 16, START_MS, 'a HELLO with a credential')
      .catch((err: Error) => err)
    const helloOk = await results.check('nats-identity-hello-cert', '§6.5', async () => {
      if (hello instanceof Error) throw hello
      const where = hello.seen.tokens.slice(1).join('.')
      expect(
        where === `${unit}.${token}`,
        `HELLO on discovery.${where}, expected discovery.${unit}.${token} (the certificate's unit)`,
      )
      certified(hello.got, 'hello')
      return undefined
    })
    if (!helloOk) return

    let mark = peer.seen.length
    peer.publish(`discovery.${me}`, [
      {
        kind: 'hello',
        info: runnerInfo(RUNNER, 1, [PROBE_INFO]),
        auth: { certificate: runnerCredential.certificate, nonce: createNonce() },
      },
    ])
    const answered = await results.check('nats-identity-announce-cert', '§6.5', async () => {
      const { got } = await peer.next(
        (s, r) => fromNodeTo(RUNNER, RUNNER_UNIT)(s) && r.kindNo === 17,
        5000,
        'the ANNOUNCE answering a certified HELLO',
        mark,
      )
      certified(got, 'announce')
      return undefined
    })
    if (!answered) return

    const call = async (env: Envelope & { id: number }, what: string): Promise<Received> => {
      const from = peer.seen.length
      peer.publish(`node.${unit}.${token}.${me}`, [env], `nr.${me}.${token}`)
      const { got } = await peer.next(
        (s, r) => fromNodeTo(RUNNER, RUNNER_UNIT)(s) && r.env?.kind === 'response' && r.env.id === env.id,
        5000,
        what,
        from,
      )
      return got
    }
    const voucher = principalVoucher(runner)
    const ada = { id: 'ada', roles: ['customer'] }
    await results.check('identity-proven-peer-served', '§6.5', async () => {
      const req = request('echo', { certified: true })
      okOutput(await call(req, 'the echo response'), req.id)
      return undefined
    })
    await results.check('principal-without-proof-refused', '§5.5', async () => {
      const req = { ...request('echo', {}), ctx: { ...wireContext(), principal: ada } }
      errorOf(await call(req, 'the response'), req.id, 'UNAUTHORIZED')
      return undefined
    })
    await results.check('principal-proof-accepted', '§5.5', async () => {
      const req = {
        ...request('echo', {}),
        ctx: { ...wireContext(), principal: ada, principalProof: voucher.vouch(ada) },
      }
      okOutput(await call(req, 'the response'), req.id)
      return undefined
    })
    await results.check('principal-proof-forwarded', '§5.5', async () => {
      const proof = voucher.vouch(ada)
      const req = {
        ...request('relay', { value: 1 }),
        ctx: { ...wireContext(), principal: ada, principalProof: proof },
      }
      const from = peer.seen.length
      const answer = call(req, 'the relay response')
      const { got } = await peer.next(
        (s, r) =>
          fromNodeTo(RUNNER, RUNNER_UNIT)(s) && r.env?.kind === 'request' && r.env.service === PROBE_SERVICE,
        5000,
        'its call to probe.echo',
        from,
      )
      expect(
        got.env?.kind === 'request' && got.env.ctx.principalProof === proof,
        'the nested call does not carry the proof unchanged',
      )
      okOutput(await answer, req.id)
      return undefined
    })

    // Announcements that must not make a peer: no certificate; a valid one published under another unit.
    const ignored = async (
      id: string,
      unitToken: string,
      auth: { certificate: string; nonce: string } | undefined,
    ) => {
      mark = peer.seen.length
      const info = runnerInfo(id, 1)
      peer.publish(`discovery.${unitToken}.${id}`, [
        auth ? { kind: 'hello', info, auth } : { kind: 'hello', info },
      ])
      await new Promise((r) => setTimeout(r, 1500))
      const answer = peer.seen.slice(mark).find(fromNodeTo(id, unitToken))
      expect(!answer, `it answered the HELLO of ${id} (unit ${unitToken}) on ${answer?.subject}`)
    }
    await results.check('nats-identity-ignores-uncertified', '§6.5', async () => {
      await ignored('conformance-anon', '_', undefined)
      return undefined
    })
    await results.check('nats-identity-ignores-other-unit', '§6.5', async () => {
      const misplaced = authority.issue({
        node: 'conformance-misplaced',
        unit: RUNNER_UNIT,
        services: [],
        assertsPrincipal: false,
      })
      await ignored('conformance-misplaced', 'elsewhere', {
        certificate: misplaced.certificate,
        nonce: createNonce(),
      })
      return undefined
    })
  } finally {
    clearInterval(beat)
    await node.terminate(5000)
    await node.kill()
    await peer.close()
  }
}
