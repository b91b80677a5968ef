import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type SocketTransport, socketTransport } from './socket-transport.ts'
import { ctx, info, recorder, removeDir, tempDir, until } from './test-support.ts'

const fixture = fileURLToPath(new URL('./peer-process.fixture.ts', import.meta.url))
let dir: string
let child: ChildProcess | undefined
let transport: SocketTransport | undefined

beforeEach(async () => {
  dir = await tempDir()
})

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await transport?.close()
  await removeDir(dir)
})

function startChild(nodeId: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture, dir, nodeId], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  child = proc
  return new Promise((resolve, reject) => {
    proc.once('error', reject)
    proc.once('exit', (code) => reject(new Error(`child exited early (${code})`)))
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(proc)
    })
  })
}

describe('socketTransport with a real peer process', () => {
  it('talks to another process and notices when it is killed with SIGKILL', { timeout: 15_000 }, async () => {
    const proc = await startChild('child')
    transport = socketTransport({ dir, rescanIntervalMs: 100 })
    const rec = recorder()
    await transport.start(info('parent'), rec)
    await until(() => rec.peers.some((p) => p.nodeId === 'child'), 'child joins')
    transport.send('child', { kind: 'request', id: 1, service: 'math', action: 'add', input: [1, 2], ctx })
    await until(() => rec.messages.length === 1, 'echo reply')
    expect(rec.messages[0]!.message).toEqual({ kind: 'response', id: 1, ok: true, output: [1, 2] })

    const killedAt = Date.now()
    proc.kill('SIGKILL')
    await until(() => rec.gone.length > 0, 'peer gone', 5000)
    expect(rec.gone).toEqual([{ nodeId: 'child', reason: expect.any(String) }])
    // The kernel closes a killed process's sockets at once; no heartbeat is needed.
    expect(Date.now() - killedAt).toBeLessThan(5000)
    expect(transport.send('child', { kind: 'cancel', id: 1 })).toBe(false)
    // Its socket file stays behind; the next rescan finds nobody listening and removes it.
    await until(() => !existsSync(join(dir, 'child.sock')), 'stale socket file removed')
  })
})
