import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  checkPeerProof,
  createAuthority,
  createNonce,
  loadCredential,
  principalVoucher,
  proveIdentity,
  verifyCertificate,
} from '../identity/index.ts'
import { CONFORMANCE_ENV, CONFORMANCE_SERVICE, ODD_NODE_ID, PROBE_SERVICE } from './environment.ts'
import { startNodeProcess } from './node-process.ts'
import {
  errorOf,
  isResponseTo,
  okOutput,
  PROBE_INFO,
  request,
  runnerInfo,
  wireContext,
} from './peer-messages.ts'
import { type Address, RawConnection } from './raw-connection.ts'
import { expect, type Results } from './rule-result.ts'
import { waitForEntry } from './socket-entry.ts'
import { kindName } from './wire-frame.ts'

const RUNNER = 'conformance-runner'

/**
 * The identity rules over the socket (docs/protocol.md §4.2, §5.5): the node is started
 * again, in a fresh directory, with a credential from an authority made for this run; the
 * runner holds one of the same authority (unit `conformance-runner`, hosting `probe`, allowed
 * to assert principals) and checks the HELLO/PROOF exchange, refusals, and principal proofs.
 */
export async function runSocketIdentityRules(command: string[], results: Results): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-conf-id-'))
  await chmod(dir, 0o700)
  const authority = createAuthority()
  const nodeId = ODD_NODE_ID
  const nodeCredential = authority.issue({
    node: nodeId,
    unit: 'conformance',
    services: [CONFORMANCE_SERVICE],
    assertsPrincipal: false,
  })
  const runner = loadCredential(
    authority.issue({
      node: RUNNER,
      unit: 'conformance-runner',
      services: [PROBE_SERVICE],
      assertsPrincipal: true,
    }),
  )
  const node = startNodeProcess(command, {
    [CONFORMANCE_ENV.transport]: 'socket',
    [CONFORMANCE_ENV.nodeId]: nodeId,
    [CONFORMANCE_ENV.dir]: dir,
    [CONFORMANCE_ENV.service]: CONFORMANCE_SERVICE,
    [CONFORMANCE_ENV.credential]: JSON.stringify(nodeCredential),
  })
  const open: RawConnection[] = []
  const connect = async (address: Address) => {
    const conn = await RawConnection.open(address)
    open.push(conn)
    return conn
  }
  try {
    const entry = await waitForEntry(dir, nodeId, node)
    if (!entry.address) {
      results.fail('identity-hello-auth', '§4.2', `with a credential: ${entry.detail}`)
      return
    }
    const address = entry.address
    const main = await connect(address)
    const nonce = createNonce()
    main.send({
      kind: 'hello',
      info: runnerInfo(RUNNER, 1, [PROBE_INFO]),
      auth: { certificate: runner.certificate, nonce },
    })
    let nodeNonce: string | undefined
    let nodeCertificate: string | undefined
    const helloOk = await results.check('identity-hello-auth', '§4.2', async () => {
      const first = await main.next(() => true, 5000, 'a first frame')
      expect(first.env?.kind === 'hello', `the first frame is ${kindName(first)}, not HELLO`)
      const auth = first.env.auth
      expect(auth, 'HELLO carries no { certificate, nonce }')
      const cert = verifyCertificate(auth.certificate, runner.authority)
      expect(cert, 'the certificate in HELLO does not verify with the authority')
      expect(cert.identity.node === nodeId, `the certificate names ${cert.identity.node}`)
      expect(auth.nonce.length >= 16, `the nonce ${JSON.stringify(auth.nonce)} is too short to be fresh`)
      nodeNonce = auth.nonce
      nodeCertificate = auth.certificate
      return undefined
    })
    if (!helloOk) return
    const proofOk = await results.check('identity-proof', '§4.2', async () => {
      const second = await main.next((_r) => true, 5000, 'a second frame (PROOF)', 1)
      expect(second.env?.kind === 'proof', `the second frame is ${kindName(second)}, not PROOF`)
      const checked = checkPeerProof(
        runner,
        { nodeId, certificate: nodeCertificate, proof: second.env.proof },
        nonce,
      )
      expect(!('refused' in checked), `the PROOF is refused: ${'refused' in checked ? checked.refused : ''}`)
      return undefined
    })
    if (!proofOk) return
    main.send({ kind: 'proof', proof: proveIdentity(runner, nodeNonce!, RUNNER, nodeId) })

    await results.check('identity-proven-peer-served', '§4.2', async () => {
      const req = request('echo', { proven: true })
      main.send(req)
      okOutput(await main.next(isResponseTo(req.id), 5000, 'the echo response'), req.id)
      return undefined
    })
    const voucher = principalVoucher(runner)
    const ada = { id: 'ada', roles: ['customer'] }
    await results.check('principal-without-proof-refused', '§5.5', async () => {
      const req = { ...request('echo', {}), ctx: { ...wireContext(), principal: ada } }
      main.send(req)
      errorOf(await main.next(isResponseTo(req.id), 5000, 'the response'), req.id, 'UNAUTHORIZED')
      return undefined
    })
    await results.check('principal-proof-accepted', '§5.5', async () => {
      const req = {
        ...request('echo', {}),
        ctx: { ...wireContext(), principal: ada, principalProof: voucher.vouch(ada) },
      }
      main.send(req)
      okOutput(await main.next(isResponseTo(req.id), 5000, 'the response'), req.id)
      return undefined
    })
    await results.check('principal-proof-forwarded', '§5.5', async () => {
      const proof = voucher.vouch(ada)
      const req = {
        ...request('relay', { value: 1 }),
        ctx: { ...wireContext(), principal: ada, principalProof: proof },
      }
      const mark = main.received.length
      main.send(req)
      const call = await main.next(
        (r) => r.env?.kind === 'request' && r.env.service === PROBE_SERVICE,
        5000,
        'its call to probe.echo',
        mark,
      )
      expect(call.env?.kind === 'request', 'not a request')
      expect(
        call.env.ctx.principalProof === proof,
        'the nested call does not carry the principal proof unchanged',
      )
      okOutput(await main.next(isResponseTo(req.id), 5000, 'the relay response'), req.id)
      return undefined
    })
    await results.check('principal-proof-expired-refused', '§5.5', async () => {
      const stale = principalVoucher(runner, () => Date.now() - 10 * 60_000).vouch(ada)
      const req = { ...request('echo', {}), ctx: { ...wireContext(), principal: ada, principalProof: stale } }
      main.send(req)
      errorOf(await main.next(isResponseTo(req.id), 5000, 'the response'), req.id, 'UNAUTHORIZED')
      return undefined
    })

    // Refusals: the connection closes, nothing but the node's own HELLO (and no PROOF for
    // a peer without credential) goes out on it.
    const refused = async (what: string, play: (c: RawConnection) => Promise<void>) => {
      const conn = await connect(address)
      await play(conn)
      const how = await conn.ending(3000)
      expect(how !== 'timeout', `a peer with ${what} kept its connection`)
      const extra = conn.received.filter((r) => r.kindNo !== 16 && r.kindNo !== 21)
      expect(extra.length === 0, `it sent ${extra.map(kindName).join(', ')} to a peer with ${what}`)
      return conn
    }
    await results.check('identity-refuses-no-credential', '§4.2', async () => {
      const conn = await refused('no credential', async (c) => {
        c.send({ kind: 'hello', info: runnerInfo('conformance-anon', 1) })
      })
      expect(!conn.received.some((r) => r.kindNo === 21), 'it sent PROOF to a peer without credential')
      return undefined
    })
    await results.check('identity-refuses-foreign-authority', '§4.2', async () => {
      const foreign = loadCredential(
        createAuthority().issue({
          node: 'conformance-foreign',
          unit: 'x',
          services: [],
          assertsPrincipal: false,
        }),
      )
      const own = createNonce()
      await refused('a certificate of another authority', async (c) => {
        c.send({
          kind: 'hello',
          info: runnerInfo('conformance-foreign', 1),
          auth: { certificate: foreign.certificate, nonce: own },
        })
        const hello = await c.next((r) => r.kindNo === 16, 3000, 'HELLO')
        const theirs = hello.env?.kind === 'hello' ? hello.env.auth?.nonce : undefined
        c.send({ kind: 'proof', proof: proveIdentity(foreign, theirs ?? '', 'conformance-foreign', nodeId) })
      })
      return undefined
    })
    await results.check('identity-refuses-bad-proof', '§4.2', async () => {
      const forger = loadCredential(
        authority.issue({ node: 'conformance-forger', unit: 'x', services: [], assertsPrincipal: false }),
      )
      await refused('a proof over the wrong nonce', async (c) => {
        c.send({
          kind: 'hello',
          info: runnerInfo('conformance-forger', 1),
          auth: { certificate: forger.certificate, nonce: createNonce() },
        })
        await c.next((r) => r.kindNo === 16, 3000, 'HELLO')
        c.send({ kind: 'proof', proof: proveIdentity(forger, 'not-the-nonce', 'conformance-forger', nodeId) })
      })
      return undefined
    })
  } finally {
    for (const c of open) c.destroy()
    await node.terminate(5000)
    await node.kill()
    await rm(dir, { recursive: true, force: true })
  }
}
