import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const bin = fileURLToPath(new URL('../../bin/tessera.mjs', import.meta.url))
let stateDir: string

beforeAll(async () => {
  // `tessera logs` needs no running system: a log far larger than a pipe's buffer keeps
  // the CLI writing after the reader has gone, as `tessera status | head -3` does.
  stateDir = await mkdtemp(join(tmpdir(), 'tessera-pipe-'))
  await mkdir(join(stateDir, 'logs'))
  await writeFile(join(stateDir, 'logs', 'users.log'), `${'x'.repeat(99)}\n`.repeat(50_000))
})

afterAll(() => rm(stateDir, { recursive: true, force: true }))

describe('the CLI with stdout closed early', () => {
  it('exits 0 and prints nothing on stderr when the reader goes away', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, [bin, 'logs', 'users', '--state-dir', stateDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    // Like `head -3`: read the first chunk, then close the read side of the pipe.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
    child.stdout.destroy()
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
    expect(stderr).toBe('')
    expect(code).toBe(0)
  })
})
