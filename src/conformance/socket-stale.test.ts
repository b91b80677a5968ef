import { type FSWatcher, watch } from 'node:fs'
import { chmod, mkdtemp, rm, unlink } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeEnvelope } from '../codec/index.ts'
import { Results } from './rule-result.ts'
import { refusedOnceRule } from './socket-stale.ts'
import { framed } from './wire-frame.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

async function directory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-conf-stale-'))
  await chmod(dir, 0o700)
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/**
 * A stand-in for a node's discovery of `.sock` entries: dials each new one; on
 * ECONNREFUSED either removes it at once (`hasty`) or tries again 100 ms later first.
 * On a connect it says HELLO.
 */
function discoverer(dir: string, mode: 'hasty' | 'patient'): void {
  const dial = (path: string, again: boolean) => {
    const socket = connect({ path })
    socket.on('connect', () =>
      socket.write(framed(encodeEnvelope({ kind: 'hello', info: { nodeId: mode, seq: 1, services: [] } }))),
    )
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNREFUSED') return
      if (mode === 'patient' && again) setTimeout(() => dial(path, false), 100)
      else void unlink(path).catch(() => {})
    })
    cleanups.push(() => void socket.destroy())
  }
  const watcher: FSWatcher = watch(dir, (_event, name) => {
    if (typeof name === 'string' && name.endsWith('.sock') && !name.startsWith('.'))
      dial(join(dir, name), true)
  })
  cleanups.push(() => watcher.close())
}

describe('refused-once-not-removed (§1.3)', () => {
  it('passes a node that re-checks a refused entry 100 ms later before removing it', async () => {
    const dir = await directory()
    discoverer(dir, 'patient')
    const results = new Results()
    await refusedOnceRule(dir, results)
    expect(results.all).toEqual([{ rule: 'refused-once-not-removed', section: '§1.3', ok: true, detail: '' }])
  })

  it('fails a node that removes an entry on the first refusal', async () => {
    const dir = await directory()
    discoverer(dir, 'hasty')
    const results = new Results()
    await refusedOnceRule(dir, results)
    expect(results.all).toEqual([
      {
        rule: 'refused-once-not-removed',
        section: '§1.3',
        ok: false,
        detail: 'the entry was removed after one refused connect (re-check 100 ms later first)',
      },
    ])
  })
})
