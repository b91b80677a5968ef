import { createServer } from 'node:net'
import { join } from 'node:path'
import { isResponseTo, okOutput, PROBE_INFO, request, runnerInfo } from './peer-messages.ts'
import { type Address, RawConnection } from './raw-connection.ts'
import { expect, type Results } from './rule-result.ts'

const RUNNER = 'conformance-runner'

/**
 * A second connection dialled by the same side replaces the first (§4.4): the node ends
 * the old one with FIN and never BYE, and still reads what arrives on it until the
 * runner ends it too. Returns the connection that carries traffic now.
 */
export async function sameSideDuplicate(
  old: RawConnection,
  connect: () => Promise<RawConnection>,
  results: Results,
): Promise<RawConnection> {
  const fresh = await connect()
  const mark = old.received.length
  fresh.send({ kind: 'hello', info: runnerInfo(RUNNER, 3, [PROBE_INFO]) })
  await fresh.next((r) => r.kindNo === 16, 5000, 'HELLO on the second connection').catch(() => undefined)
  const how = await old.ending(5000)
  const after = old.received.slice(mark)
  const bye = after.some((r) => r.kindNo === 18)
  results.add(
    'duplicate-ends-with-fin',
    '§4.4',
    how === 'fin' && !bye,
    bye
      ? 'the replaced connection got BYE (a duplicate ends with FIN only: BYE means the node leaves)'
      : how === 'fin'
        ? ''
        : how === 'closed'
          ? 'the replaced connection was reset or closed without FIN'
          : 'the replaced connection was not ended within 5 s',
  )
  await results.check('dropped-connection-still-read', '§4.4', async () => {
    expect(how === 'fin', 'no FIN on the replaced connection')
    const req = request('echo', { on: 'the dropped connection' })
    old.send(req)
    const answer = await fresh.next(isResponseTo(req.id), 3000, 'the answer (on the new connection)')
    okOutput(answer, req.id)
    return undefined
  })
  old.end()
  return fresh
}

/**
 * Both sides dial at once (§4.4): the runner publishes an entry the node dials, and
 * dials the node under the same id before either HELLO is sent, once with an id lower
 * than the node's and once with a higher one. The connection dialled by the lower id must
 * stay (it answers PING), the other must get FIN and no BYE, and when the node ended the
 * one it dialled itself, a request the runner sends there afterwards must still be read.
 */
export async function crossDuplicates(
  dir: string,
  nodeId: string,
  node: Address,
  open: RawConnection[],
  results: Results,
): Promise<void> {
  for (const id of ['con-cross', 'conformance-cross']) {
    const server = createServer({ allowHalfOpen: true })
    const dialled = new Promise<RawConnection>((resolve) =>
      server.on('connection', (socket) => resolve(RawConnection.accepted(socket))),
    )
    await new Promise<void>((resolve) => server.listen(join(dir, `${id}.sock`), resolve))
    const lowerIsRunner = id < nodeId
    const rule = lowerIsRunner ? 'cross-duplicate-keeps-runner-dialled' : 'cross-duplicate-keeps-node-dialled'
    let byNode: RawConnection | undefined
    let byRunner: RawConnection | undefined
    await results.check(rule, '§4.4', async () => {
      byNode = await Promise.race([
        dialled,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`the node did not dial ${id}.sock within 6 s`)), 6000),
        ),
      ])
      byRunner = await RawConnection.open(node)
      open.push(byNode, byRunner)
      for (const c of [byNode, byRunner]) c.send({ kind: 'hello', info: runnerInfo(id, 1) })
      await byNode.next((r) => r.kindNo === 16, 3000, 'HELLO on the connection the node dialled')
      await byRunner.next((r) => r.kindNo === 16, 3000, 'HELLO on the connection the runner dialled')
      const [kept, dropped] = lowerIsRunner ? [byRunner, byNode] : [byNode, byRunner]
      const keptName = lowerIsRunner ? 'the runner' : 'the node'
      const how = await dropped.ending(5000)
      expect(
        how === 'fin',
        `the connection not dialled by the lower id (${keptName}) was ${how === 'closed' ? 'reset, not ended with FIN' : 'not ended within 5 s'}`,
      )
      // Any BYE on it: the node may resolve the duplicate before the runner saw both HELLOs.
      const bye = dropped.received.some((r) => r.kindNo === 18)
      expect(!bye, 'the dropped connection got BYE (a duplicate ends with FIN only)')
      expect(
        kept.endedAt === undefined && !kept.closed,
        `the connection dialled by ${keptName} (the lower id) was ended too`,
      )
      await kept.pingPong(`the connection dialled by ${keptName}`)
      if (dropped === byNode) {
        // The node ended the connection it dialled; it must still read what arrives there.
        const req = request('echo', { on: 'the connection the node dropped' })
        dropped.send(req)
        okOutput(
          await kept.next(isResponseTo(req.id), 3000, 'the answer to a request sent after its FIN'),
          req.id,
        )
      }
      return undefined
    })
    // Leave as a peer does: no new dials to this entry, BYE, FIN; wait for the node to end too.
    // (close() unlinks the file at once but calls back only once its connections are gone.)
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const c of [byNode, byRunner]) {
      if (!c) continue
      c.send({ kind: 'bye', nodeId: id })
      c.end()
    }
    await Promise.all([byNode, byRunner].map((c) => c?.ending(3000)))
    await Promise.all([byNode, byRunner].map((c) => c && closedWithin(c, 3000)))
    await serverClosed
  }
}

async function closedWithin(c: RawConnection, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!c.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  if (!c.closed) c.destroy()
}
