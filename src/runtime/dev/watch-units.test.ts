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
})
