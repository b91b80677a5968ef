import { spawn } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { open, rename, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { runnerInfo } from './peer-messages.ts'
import { RawConnection } from './raw-connection.ts'
import { expect, type Results } from './rule-result.ts'

/**
 * An entry refused once but answering 100 ms later must not be removed (§1.3). The runner
 * makes `conformance-late-<n>.sock` a regular file (a connect to it is refused, as to a socket
 * bound but not listening yet), and 40 ms later renames a listening socket over it. A node
 * that re-checks after 100 ms connects; one that removes an entry on the first refusal has
 * deleted the file by then. (A node that only finds the entry on a later rescan connects
 * at once, and passes without being tested.)
 */
export async function refusedOnceRule(dir: string, results: Results): Promise<void> {
  await results.check('refused-once-not-removed', '§1.3', async () => {
    // Three entries, one after the other: a hasty node whose watch woke late for one
    // (it then met a listening socket) is still caught by another.
    for (const n of [1, 2, 3]) await refusedOnce(dir, `conformance-late-${n}`)
    return undefined
  })
}

/** One entry refused, then answering 40 ms later; throws when the node removed it or never came. */
async function refusedOnce(dir: string, id: string): Promise<void> {
  const path = join(dir, `${id}.sock`)
  const listening = join(dir, `.${id}.tmp`)
  const server = createServer({ allowHalfOpen: true })
  let conn: RawConnection | undefined
  const accepted = new Promise<RawConnection>((resolve) =>
    server.on('connection', (socket) => {
      conn = RawConnection.accepted(socket)
      resolve(conn)
    }),
  )
  await new Promise<void>((resolve) => server.listen(listening, resolve))
  try {
    // The inode from the open file itself: a hasty node may unlink the path at once.
    const file = await open(path, 'w')
    const inode = (await file.stat()).ino
    await file.close()
    await new Promise((r) => setTimeout(r, 40))
    const still = existsSync(path) && statSync(path).ino === inode
    expect(still, 'the entry was removed after one refused connect (re-check 100 ms later first)')
    await rename(listening, path)
    const dialled = await Promise.race([
      accepted,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 6000)),
    ])
    expect(dialled, `the node did not connect to ${id}.sock once it answered (within 6 s)`)
    dialled.send({ kind: 'hello', info: runnerInfo(id, 1) })
    await dialled.next((r) => r.kindNo === 16, 3000, 'HELLO')
  } finally {
    conn?.send({ kind: 'bye', nodeId: id })
    conn?.end()
    await conn?.ending(3000)
    conn?.destroy()
    server.close()
    await rm(path, { force: true })
    await rm(listening, { force: true })
  }
}

/** Entries nobody answers on are removed (§1.3). */
export async function staleRules(dir: string, results: Results): Promise<void> {
  const sock = join(dir, 'conformance-stale.sock')
  const json = join(dir, 'conformance-gone.json')
  await results.check('stale-socket-removed', '§1.3', async () => {
    await leaveStaleSocket(sock)
    expect(existsSync(sock), 'could not make a stale socket file')
    await until(() => !existsSync(sock), 10_000, 'a socket file nobody listens on stayed for 10 s')
    return undefined
  })
  await results.check('stale-address-file-removed', '§1.3', async () => {
    const pid = await deadPid()
    await writeFile(json, JSON.stringify({ nodeId: 'conformance-gone', host: '127.0.0.1', port: 9, pid }))
    await until(() => !existsSync(json), 10_000, `an address file of the dead pid ${pid} stayed for 10 s`)
    return undefined
  })
}

/** A Unix socket file whose listener was SIGKILLed: connect fails with ECONNREFUSED. */
function leaveStaleSocket(path: string): Promise<void> {
  const code =
    "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))"
  return new Promise((resolve) => {
    spawn(process.execPath, ['-e', code, path], { stdio: 'ignore' }).once('exit', () => resolve())
  })
}

/** The pid of a process that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
    child.once('exit', () => resolve(child.pid ?? 999_999))
  })
}

async function until(done: () => boolean, ms: number, message: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!done()) {
    if (Date.now() > deadline) throw new Error(message)
    await new Promise((r) => setTimeout(r, 50))
  }
}
