import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CONFORMANCE_ENV, CONFORMANCE_SERVICE, ODD_NODE_ID } from './environment.ts'
import { type NodeProcess, startNodeProcess } from './node-process.ts'
import {
  checkNodeInfo,
  ECHO_VALUE,
  errorOf,
  isResponseTo,
  okOutput,
  PROBE_INFO,
  request,
  runnerInfo,
  sameValue,
} from './peer-messages.ts'
import { RawConnection } from './raw-connection.ts'
import { expect, type Results } from './rule-result.ts'
import { crossDuplicates, sameSideDuplicate } from './socket-duplicates.ts'
import { waitForEntry } from './socket-entry.ts'
import { refusedOnceRule, staleRules } from './socket-stale.ts'
import { framed, kindName } from './wire-frame.ts'

const RUNNER = 'conformance-runner'
/** How long the node under test may take to start and publish its entry. */

/**
 * Runs the socket rules (docs/protocol.md §1–§5, §7) against a node started with
 * `command`, in a fresh discovery directory that is removed afterwards. The node is
 * stopped (SIGTERM, then SIGKILL) also when a rule throws.
 */
export async function runSocketRules(command: string[], results: Results): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-conf-'))
  await chmod(dir, 0o700)
  const nodeId = ODD_NODE_ID
  const node = startNodeProcess(command, {
    [CONFORMANCE_ENV.transport]: 'socket',
    [CONFORMANCE_ENV.nodeId]: nodeId,
    [CONFORMANCE_ENV.dir]: dir,
    [CONFORMANCE_ENV.service]: CONFORMANCE_SERVICE,
  })
  const open: RawConnection[] = []
  let listener: Server | undefined
  try {
    await socketRules({ dir, nodeId, node, results, open, listen: (s) => (listener = s) })
  } finally {
    for (const c of open) c.destroy()
    listener?.close()
    await node.kill()
    await rm(dir, { recursive: true, force: true })
  }
}

interface Run {
  dir: string
  nodeId: string
  node: NodeProcess
  results: Results
  open: RawConnection[]
  listen(server: Server): void
}

async function socketRules(run: Run): Promise<void> {
  const { dir, nodeId, node, results } = run
  const entry = await waitForEntry(dir, nodeId, node)
  if (!results.add('discovery-entry', '§1.1', entry.ok, entry.detail) || !entry.address) return

  const connect = async (): Promise<RawConnection> => {
    const conn = await RawConnection.open(entry.address!)
    run.open.push(conn)
    return conn
  }
  // The main connection: HELLO first, announced without services, then ANNOUNCE with probe.
  let main = await connect()
  main.send({ kind: 'hello', info: runnerInfo(RUNNER, 1) })
  const handshaken = await results.check('hello-first', '§4.1', async () => {
    const first = await main.next(() => true, 5000, 'a first frame')
    expect(first.kindNo === 16, `the first frame is ${kindName(first)}, not HELLO`)
    return undefined
  })
  if (!handshaken) return
  await results.check('nodeinfo-valid', '§3.5', async () => {
    const info = checkNodeInfo(main.received[0]!, 'hello', nodeId)
    return `seq ${info.seq}, services ${info.services.map((s) => s.name).join(', ')}`
  })
  main.send({ kind: 'announce', info: runnerInfo(RUNNER, 2, [PROBE_INFO]) })

  await results.check('ping-answered', '§4.5', async () => {
    main.send({ kind: 'ping', n: 7321 })
    const pong = await main.next((r) => r.kindNo === 20, 3000, 'PONG')
    expect(pong.env?.kind === 'pong' && pong.env.n === 7321, 'PONG does not echo n = 7321')
    return undefined
  })
  await callRules(main, results)

  await results.check('violation-closes-that-connection', '§7', async () => {
    const hostile = await connect()
    hostile.send({ kind: 'hello', info: runnerInfo('conformance-hostile', 1) })
    await hostile.next((r) => r.kindNo === 16, 5000, 'HELLO')
    hostile.sendBytes(framed(new Uint8Array([0xc1, 0xc1, 0xc1])))
    const how = await hostile.ending(3000)
    expect(how !== 'timeout', 'the connection stayed open after a body that is not msgpack')
    const after = hostile.received.slice(1).filter((r) => r.kindNo !== 19)
    expect(after.length === 0, `it answered with ${after.map(kindName).join(', ')}`)
    await main.pingPong('the other connection')
    return undefined
  })
  await results.check('first-frame-must-be-hello', '§4.1', async () => {
    const rude = await connect()
    rude.send({ kind: 'ping', n: 1 })
    const how = await rude.ending(3000)
    expect(how !== 'timeout', 'a connection whose first frame was PING stayed open')
    expect(!rude.received.some((r) => r.kindNo === 20), 'it answered the PING before any HELLO')
    return undefined
  })
  await results.check('bye-ends-connection', '§4.6', async () => {
    const leaving = await connect()
    leaving.send({ kind: 'hello', info: runnerInfo('conformance-bye', 1) })
    await leaving.next((r) => r.kindNo === 16, 5000, 'HELLO')
    leaving.send({ kind: 'bye', nodeId: 'conformance-bye' })
    const how = await leaving.ending(3000)
    expect(how !== 'timeout', 'the connection stayed open after BYE')
    return `ended (${how})`
  })

  main = await sameSideDuplicate(main, connect, results)
  await silenceRules(connect, results)
  await dialRules(run)
  await crossDuplicates(dir, nodeId, entry.address, run.open, results)
  await refusedOnceRule(dir, results)
  await staleRules(dir, results)
  await leaveRules(run, main)
}

/** Calls to the node, its answers and errors, cancel, and a call from it (§5). */
async function callRules(main: RawConnection, results: Results): Promise<void> {
  await results.check('request-answered', '§5.1', async () => {
    const req = request('echo', ECHO_VALUE)
    main.send(req)
    const output = okOutput(await main.next(isResponseTo(req.id), 5000, 'the echo response'), req.id)
    expect(sameValue(output, ECHO_VALUE), `echo answered ${JSON.stringify(output)}`)
    return undefined
  })
  await results.check('typed-error', '§5.1', async () => {
    const req = request('fail', { code: 'CONFLICT', message: 'asked to conflict' })
    main.send(req)
    const message = errorOf(
      await main.next(isResponseTo(req.id), 5000, 'the fail response'),
      req.id,
      'CONFLICT',
    )
    expect(message === 'asked to conflict', `message ${JSON.stringify(message)}`)
    return undefined
  })
  await results.check('unknown-action', '§5.2', async () => {
    const req = request('no-such-action', {})
    main.send(req)
    errorOf(await main.next(isResponseTo(req.id), 5000, 'the response'), req.id, 'NOT_FOUND')
    return undefined
  })
  await results.check('unknown-service', '§5.2', async () => {
    const req = request('echo', {}, 'no-such-service')
    main.send(req)
    errorOf(await main.next(isResponseTo(req.id), 5000, 'the response'), req.id, 'UNAVAILABLE')
    return undefined
  })
  await results.check('cancel-stops-handler', '§5.3', async () => {
    const req = request('wait', { ms: 20_000 }, CONFORMANCE_SERVICE, 30_000)
    main.send(req)
    await new Promise((r) => setTimeout(r, 300))
    main.send({ kind: 'cancel', id: req.id })
    errorOf(await main.next(isResponseTo(req.id), 3000, 'the CANCELLED answer'), req.id, 'CANCELLED')
    return undefined
  })
  await results.check('cancel-of-unknown-id-ignored', '§5.3', async () => {
    main.send({ kind: 'cancel', id: 987_654_321 })
    await main.pingPong('the connection')
    return undefined
  })
  await results.check('calls-out', '§5.1', async () => {
    const req = request('relay', { value: 'from the runner' })
    main.send(req)
    const call = await main.next(
      (r) => r.env?.kind === 'request' && r.env.service === 'probe',
      5000,
      'a REQUEST to probe.echo (announced by ANNOUNCE seq 2)',
    )
    expect(call.env?.kind === 'request', 'not a request')
    const ctx = call.env.ctx
    expect(
      /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(ctx.traceparent),
      `traceparent ${ctx.traceparent}`,
    )
    expect(ctx.timeout > 0, `ctx.timeout ${ctx.timeout}`)
    const output = okOutput(await main.next(isResponseTo(req.id), 5000, 'the relay response'), req.id)
    expect(sameValue(output, { value: 'from the runner' }), `relay answered ${JSON.stringify(output)}`)
    return undefined
  })
}

/** A peer that stops sending gets PINGs, then its connection is closed (§4.5). */
async function silenceRules(connect: () => Promise<RawConnection>, results: Results): Promise<void> {
  const silent = await connect()
  silent.autoAnswer = false
  silent.send({ kind: 'hello', info: runnerInfo('conformance-silent', 1) })
  const started = Date.now()
  const ping = await silent.next((r) => r.kindNo === 19, 5000, 'PING').catch((err: Error) => err)
  results.add(
    'pings-idle-connection',
    '§4.5',
    !(ping instanceof Error),
    ping instanceof Error ? ping.message : `after ${ping.at - started} ms`,
  )
  const how = await silent.ending(10_000)
  const after = Date.now() - started
  results.add(
    'closes-silent-connection',
    '§4.5',
    how !== 'timeout',
    how === 'timeout' ? 'a peer silent for 10 s kept its connection' : `closed after ${after} ms`,
  )
}

/** The node dials an entry that appears in the directory, HELLO first (§1.2, §4.1). */
async function dialRules(run: Run): Promise<void> {
  const { dir, results } = run
  const accepted = new Promise<RawConnection>((resolve) => {
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      const conn = RawConnection.accepted(socket)
      run.open.push(conn)
      resolve(conn)
    })
    run.listen(server)
    server.listen(join(dir, 'conformance-listener.sock'))
  })
  await results.check('dials-new-entries', '§1.2', async () => {
    const conn = await Promise.race([
      accepted,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the node did not dial a new entry within 6 s')), 6000),
      ),
    ])
    const first = await conn.next(() => true, 5000, 'a first frame')
    expect(first.kindNo === 16, `the first frame on its connection is ${kindName(first)}, not HELLO`)
    conn.send({ kind: 'hello', info: runnerInfo('conformance-listener', 1) })
    await conn.pingPong('the connection it dialled')
    return undefined
  })
}

/** SIGTERM: BYE then FIN on every connection, the entry removed, the process gone (§4.6). */
async function leaveRules(run: Run, main: RawConnection): Promise<void> {
  const { node, results, dir, nodeId } = run
  const marks = run.open
    .filter((c) => !c.closed && c.endedAt === undefined)
    .map((c) => [c, c.received.length] as const)
  const exited = await node.terminate(10_000)
  await results.check('leave-says-bye-then-fin', '§4.6', async () => {
    expect(
      marks.some(([c]) => c === main),
      'the main connection was not open any more',
    )
    for (const [conn, mark] of marks) {
      const how = await conn.ending(3000)
      const after = conn.received.slice(mark)
      const bye = after.findIndex((r) => r.kindNo === 18)
      expect(
        bye >= 0,
        `a connection got no BYE (${after.map(kindName).join(', ') || 'nothing'}, then ${how})`,
      )
      const env = after[bye]!.env
      expect(env?.kind === 'bye' && env.nodeId === nodeId, 'BYE does not carry the node id')
      expect(
        how === 'fin',
        `after BYE the connection was ${how === 'closed' ? 'reset' : 'left open'}, not ended with FIN`,
      )
    }
    return `${marks.length} connection(s)`
  })
  await results.check('leave-removes-entry', '§4.6', async () => {
    expect(exited, 'the process did not exit within 10 s of SIGTERM')
    const left = (await readdir(dir)).filter((n) => n.startsWith(encodeURIComponent(nodeId)))
    expect(left.length === 0, `its entry ${left.join(', ')} is still there`)
    return undefined
  })
}
