import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TesseraError } from '../../../src/errors/index.ts'
import { runSystem } from './support.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-contract-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const src = join(import.meta.dirname, '../../../src/index.ts')
const contract = join(import.meta.dirname, '../../../src/contract/index.ts')

/** A `profiles` service whose `get` output has the given extra fields, written "on disk". */
async function writeProfiles(version: string, outputFields: string): Promise<void> {
  await writeFile(
    join(dir, 'profiles.ts'),
    `import { defineService } from '${src}'
import { Type as T } from '${contract}'
export default defineService({
  name: 'profiles',
  version: '${version}',
  events: { 'profile.changed': T.Object({ id: T.String() }) },
  actions: ({ action }) => ({
    get: action({
      input: T.Object({ id: T.String() }),
      output: T.Object({ id: T.String(), ${outputFields} }),
      idempotent: true,
      handler: ({ id }) => ({ id, name: 'Ada', avatar: 'a.png' }),
    }),
  }),
})
`,
  )
}

describe('a deploy checked against the running contract', () => {
  it('takes a compatible version, refuses a breaking one with its diff, and takes it when forced', {
    timeout: 60_000,
  }, async () => {
    await writeProfiles('1.0.0', 'name: T.String()')
    await using sys = await runSystem(
      { name: 'contract', services: { profiles: { entry: './profiles.ts' } } },
      dir,
    )
    const versions = () => sys.sup.status().units[0]!.instances.map((i) => i.versions[0]?.version)

    // A new optional output field: nobody reading `get` can tell.
    await writeProfiles('1.1.0', 'name: T.String(), avatar: T.Optional(T.String())')
    const progress: string[] = []
    await sys.sup.deploy('profiles', (line) => progress.push(line))
    expect(versions()).toEqual(['1.1.0'])
    expect(progress.join('\n')).toContain('✓ action get: schema changed compatibly')

    // `name` removed from the output: callers that read it break.
    await writeProfiles('2.0.0', 'avatar: T.Optional(T.String())')
    // `tessera diff` first: the same verdict, nothing deployed.
    const [shown] = await sys.sup.diff('profiles')
    expect(shown?.breaking).toEqual([{ where: 'action get output.name', what: 'removed' }])
    expect(versions()).toEqual(['1.1.0'])
    const refused = await sys.sup.deploy('profiles').catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(TesseraError)
    expect((refused as TesseraError).code).toBe('CONFLICT')
    expect((refused as TesseraError).message).toContain('profiles 1.1.0 → 2.0.0')
    expect((refused as TesseraError).message).toContain('✗ action get output.name: removed')
    expect(versions()).toEqual(['1.1.0'])
    expect(sys.events.filter((e) => e.type === 'refused').map((e) => e.unit)).toEqual(['profiles'])
    expect(await sys.client.call('profiles', 'get', { id: '1' })).toMatchObject({ name: 'Ada' })

    await sys.sup.deploy('profiles', undefined, { force: true })
    expect(versions()).toEqual(['2.0.0'])
  })
})
