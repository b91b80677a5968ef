import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLogFiles } from './log-files.ts'
import type { LogRecord } from './log-record.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-log-files-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const line = (msg: string): LogRecord => ({
  time: 1,
  level: 'info',
  instance: 'echo#1',
  stream: 'stdout',
  msg,
})

describe('createLogFiles', () => {
  it('appends one JSON line per record to the unit file', async () => {
    const logs = createLogFiles(join(dir, 'logs'))
    logs.append('echo', line('one'))
    logs.append('echo', line('two'))
    logs.close()
    const text = await readFile(join(dir, 'logs', 'echo.log'), 'utf8')
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).msg),
    ).toEqual(['one', 'two'])
  })

  it('drops a line that arrives after close instead of recreating the file', async () => {
    const logs = createLogFiles(join(dir, 'logs'))
    logs.append('echo', line('before'))
    logs.close()
    await rm(join(dir, 'logs', 'echo.log'))
    logs.append('echo', line('late'))
    logs.append('other', line('late'))
    expect(await readdir(join(dir, 'logs'))).toEqual([])
  })
})
