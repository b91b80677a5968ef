import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TesseraError } from '../../errors/index.ts'
import { defaultTransportKinds } from '../config/index.ts'
import { buildUnit, buildUnits } from './build-unit.ts'

const srcIndex = fileURLToPath(new URL('../../index.ts', import.meta.url))
const nodeModules = fileURLToPath(new URL('../../../node_modules', import.meta.url))
let dir: string

beforeEach(async () => {
  // A project of its own: its packages are Tessera's.
  dir = await mkdtemp(join(tmpdir(), 'tessera-build-'))
  await symlink(nodeModules, join(dir, 'node_modules'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const service = (name: string, extra = '') =>
  `import { Type as T } from '@sinclair/typebox'
import { defineService } from '${srcIndex}'
${extra}
export default defineService({
  name: '${name}',
  actions: ({ action }) => ({
    ping: action({ input: T.Object({}), output: T.String(), handler: () => where }),
  }),
})
`

const options = (unit: string, entry: string) => ({
  unit,
  services: [{ name: unit, entry }],
  transport: defaultTransportKinds.socket.instanceModule,
  outDir: join(dir, 'build'),
  root: dir,
})

describe('buildUnit', () => {
  it('bundles the sources into one module, keeps packages outside and import.meta per file', async () => {
    const entry = join(dir, 'a.ts')
    await writeFile(entry, service('a', 'const where: string = import.meta.url'))
    const build = await buildUnit(options('a', entry))
    const code = await readFile(build.file, 'utf8')

    expect(build.file.startsWith(join(dir, 'build', 'a'))).toBe(true)
    expect(build.inputs).toContain(entry)
    expect(build.inputs).toContain(resolve(srcIndex, '../broker/broker.ts'))
    expect(code).toContain(JSON.stringify(pathToFileURL(entry).href))
    expect(code).toMatch(/from "file:\/\/\/[^"]*\/msgpackr\//) // outside, by absolute URL
    expect(code).not.toMatch(/from "nats"|\/nats\//) // a socket system never loads NATS
    expect(await readFile(`${build.file}.map`, 'utf8')).toContain('a.ts')
  })

  it('reports an error with its file, line and column, also in a file the entry imports', async () => {
    const entry = join(dir, 'bad.ts')
    await writeFile(entry, service('bad', "import { where } from './lib/where.ts'"))
    await writeFile(join(dir, 'missing.ts'), service('missing', "import { where } from './nowhere.ts'"))
    await mkdir(join(dir, 'lib'))
    await writeFile(join(dir, 'lib', 'where.ts'), "// where\nexport const where = 'x' +;\n")
    const err = await buildUnit(options('bad', entry)).catch((e: unknown) => e)
    const missing = await buildUnit(options('missing', join(dir, 'missing.ts'))).catch((e: unknown) => e)

    expect(err).toBeInstanceOf(TesseraError)
    expect((err as TesseraError).code).toBe('VALIDATION')
    expect((err as Error).message).toBe(
      'build of bad failed:\n  lib/where.ts:2:27: Unexpected ";"\n    export const where = \'x\' +;',
    )
    expect((err as TesseraError).data).toEqual({
      issues: [{ file: 'lib/where.ts', line: 2, column: 27, text: 'Unexpected ";"' }],
    })
    expect((missing as Error).message).toContain('missing.ts:3:23: Could not resolve "./nowhere.ts"')
  })

  it('reports a package a static import cannot find; an import() of one stays for run time', async () => {
    await writeFile(join(dir, 'pkg.ts'), service('pkg', "import { where } from 'no-such-package'"))
    await writeFile(
      join(dir, 'opt.ts'),
      service('opt', "const where = String(await import('no-such-package').catch(() => 'x'))"),
    )
    const err = await buildUnit(options('pkg', join(dir, 'pkg.ts'))).catch((e: unknown) => e)
    const optional = await buildUnit(options('opt', join(dir, 'opt.ts')))

    expect((err as Error).message).toContain('pkg.ts:3:23: Could not resolve "no-such-package"')
    expect(await readFile(optional.file, 'utf8')).toContain('import("no-such-package")')
  })

  it('builds several units in one run, and each on its own when one of them fails', async () => {
    await writeFile(join(dir, 'a.ts'), service('a', "const where = 'a'"))
    await writeFile(join(dir, 'b.ts'), service('b', "const where = 'b' +;"))
    const [a, b] = await Promise.allSettled(
      buildUnits(
        [
          { unit: 'a', services: [{ name: 'a', entry: join(dir, 'a.ts') }] },
          { unit: 'b', services: [{ name: 'b', entry: join(dir, 'b.ts') }] },
        ],
        { transport: defaultTransportKinds.socket.instanceModule, outDir: join(dir, 'build'), root: dir },
      ),
    )
    expect(a?.status === 'fulfilled' && a.value.file).toContain(join(dir, 'build', 'a'))
    expect(b?.status === 'rejected' && (b.reason as Error).message).toMatch(
      /build of b failed:\n {2}b\.ts:3:\d+: Unexpected ";"/,
    )
  })
})
