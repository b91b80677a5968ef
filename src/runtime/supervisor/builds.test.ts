import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { SupervisorEvent } from './events.ts'
import { createSupervisor } from './supervisor.ts'

const srcIndex = fileURLToPath(new URL('../../index.ts', import.meta.url))
const nodeModules = fileURLToPath(new URL('../../../node_modules', import.meta.url))
let dir: string
beforeEach(async () => {
  // A project of its own: its packages are Tessera's.
  dir = await mkdtemp(join(tmpdir(), 'tessera-builds-'))
  await symlink(nodeModules, join(dir, 'node_modules'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A one-action service answering its version, or a file that does not build. */
async function writeEcho(version: string | 'broken'): Promise<void> {
  const body =
    version === 'broken'
      ? `export default {\n  name: 'echo' +,\n}\n`
      : `import { Type as T } from '@sinclair/typebox'
import { defineService } from '${srcIndex}'
export default defineService({
  name: 'echo',
  version: '${version}',
  actions: ({ action }) => ({
    where: action({ input: T.Object({}), output: T.String(), handler: () => import.meta.filename ?? '' }),
  }),
})
`
  await writeFile(join(dir, 'echo.ts'), body)
}

function system() {
  const events: SupervisorEvent[] = []
  const sup = createSupervisor({
    config: { name: 'builds', stateDir: join(dir, 'state'), services: { echo: { entry: './echo.ts' } } },
    root: dir,
    onEvent: (e) => events.push(e),
  })
  return { sup, events }
}

describe('built instances', () => {
  it('run the bundle; a deploy that does not build is rolled back, naming file and line', {
    timeout: 30_000,
  }, async () => {
    await writeEcho('1.0.0')
    const { sup, events } = system()
    await using _ = sup
    expect(await sup.up()).toEqual({ failed: [] })
    const first = sup.unit('echo').instances()[0]!
    expect(await sup.caller.call('echo', 'where', {})).toBe(join(dir, 'echo.ts'))

    await writeEcho('broken')
    await expect(sup.deploy('echo')).rejects.toThrow(
      /deploy of echo rolled back: build of echo failed:\n {2}echo\.ts:2:17: Unexpected ","/,
    )
    expect(events.at(-1)).toMatchObject({ type: 'rolled-back', unit: 'echo' })
    expect(sup.unit('echo').instances()[0]).toBe(first)
    expect(sup.status().units[0]!.instances[0]!.versions).toEqual([{ name: 'echo', version: '1.0.0' }])

    await writeEcho('1.1.0')
    await sup.deploy('echo')
    expect(sup.status().units[0]!.instances[0]!.versions).toEqual([{ name: 'echo', version: '1.1.0' }])
    // The build the old instance ran goes with it; only the current one is left.
    const bundles = async () =>
      (await readdir(join(dir, 'state', 'build', 'echo'))).filter((f) => f.endsWith('.mjs'))
    await vi.waitFor(async () => expect(await bundles()).toHaveLength(1))
  })

  it('a unit that does not build at up is reported, and starts once a deploy builds', {
    timeout: 30_000,
  }, async () => {
    await writeEcho('broken')
    const { sup } = system()
    await using _ = sup
    const progress: string[] = []
    expect(await sup.up((line) => progress.push(line))).toEqual({ failed: ['echo'] })
    expect(progress.join('\n')).toContain('echo.ts:2:17: Unexpected ","')
    expect(sup.status().units[0]).toMatchObject({ state: 'build-failed', instances: [{ state: 'exited' }] })

    await writeEcho('1.0.0')
    await sup.deploy('echo')
    expect(sup.status().units[0]).toMatchObject({ state: 'running', instances: [{ state: 'ready' }] })
  })
})
