import { writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createSupervisor } from '../supervisor/index.ts'
import { watchUnits } from './watch-units.ts'

const srcIndex = fileURLToPath(new URL('../../index.ts', import.meta.url))
const nodeModules = fileURLToPath(new URL('../../../node_modules', import.meta.url))
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-watch-'))
  await symlink(nodeModules, join(dir, 'node_modules'))
  await mkdir(join(dir, 'echo'))
  await mkdir(join(dir, 'lib'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('watchUnits', () => {
  it('rolls a unit when a file its build uses changes outside the entry folder', {
    timeout: 30_000,
  }, async () => {
    const greeting = (text: string) =>
      writeFile(join(dir, 'lib', 'greeting.ts'), `export const greeting = '${text}'\n`)
    await greeting('hello')
    await writeFile(
      join(dir, 'echo', 'service.ts'),
      `import { Type as T } from '@sinclair/typebox'
import { defineService } from '${srcIndex}'
import { greeting } from '../lib/greeting.ts'
export default defineService({
  name: 'echo',
  actions: ({ action }) => ({ greet: action({ input: T.Object({}), output: T.String(), handler: () => greeting }) }),
})
`,
    )
    await using sup = createSupervisor({
      config: {
        name: 'watch',
        stateDir: join(dir, 'state'),
        services: { echo: { entry: './echo/service.ts' } },
      },
      root: dir,
    })
    expect(await sup.up()).toEqual({ failed: [] })
    expect(await sup.caller.call('echo', 'greet', {})).toBe('hello')
    const rolled: string[] = []
    const stop = watchUnits(sup, {
      debounceMs: 50,
      onRolled: (unit, err) => rolled.push(err ? String(err) : unit),
    })
    try {
      await greeting('bonjour')
      await vi.waitFor(() => expect(rolled).toEqual(['echo']), { timeout: 20_000 })
      expect(await sup.caller.call('echo', 'greet', {})).toBe('bonjour')
    } finally {
      stop()
    }
  })

  it('sees a change in a subfolder of the entry folder made the moment watching starts', {
    timeout: 30_000,
  }, async () => {
    await mkdir(join(dir, 'echo', 'nested', 'deeper'), { recursive: true })
    await writeFile(join(dir, 'echo', 'nested', 'deeper', 'notes.txt'), 'one\n')
    await writeFile(
      join(dir, 'echo', 'service.ts'),
      `import { defineService } from '${srcIndex}'
export default defineService({ name: 'echo', actions: () => ({}) })
`,
    )
    await using sup = createSupervisor({
      config: {
        name: 'watch',
        stateDir: join(dir, 'state'),
        services: { echo: { entry: './echo/service.ts' } },
      },
      root: dir,
    })
    expect(await sup.up()).toEqual({ failed: [] })
    const changed: string[] = []
    const stop = watchUnits(sup, {
      debounceMs: 50,
      onChange: (unit, file) => changed.push(`${unit} ${file}`),
    })
    try {
      // No turn of the event loop between starting to watch and the change: the watch must
      // already hold when watchUnits returns.
      writeFileSync(join(dir, 'echo', 'nested', 'deeper', 'notes.txt'), 'two\n')
      await vi.waitFor(
        () => expect(changed).toEqual([`echo ${join(dir, 'echo', 'nested', 'deeper', 'notes.txt')}`]),
        { timeout: 10_000 },
      )
    } finally {
      stop()
    }
  })
})
