import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type StagedUnit, stageUnit } from '../../../src/deploy/image-contents.ts'
import { buildUnit } from '../../../src/runtime/build/index.ts'
import { defaultTransportKinds } from '../../../src/runtime/config/index.ts'

// The reference system's users unit: SQLite through better-sqlite3 (native) and Kysely.
const root = resolve(fileURLToPath(new URL('../../../examples/reference', import.meta.url)))

describe('stageUnit', () => {
  const work = mkdtempSync(join(tmpdir(), 'tessera-stage-'))
  const app = join(work, 'image', 'app')
  let staged: StagedUnit
  beforeAll(async () => {
    const build = await buildUnit({
      unit: 'users',
      services: [{ name: 'users', entry: join(root, 'services/users/service.ts') }],
      transport: defaultTransportKinds.nats.instanceModule,
      outDir: join(work, 'bundles'),
      root,
    })
    staged = await stageUnit({ unit: 'users', build, root, dir: join(work, 'image') })
  }, 60_000)
  afterAll(() => rmSync(work, { recursive: true, force: true }))

  const modules = () => readdirSync(join(app, 'node_modules'))

  it('copies the packages the bundle imports, with their dependencies, and nothing else', () => {
    // Kysely is bundled into the unit (decision 0028), so it is not among the copied packages.
    expect(modules()).toEqual(expect.arrayContaining(['better-sqlite3', 'bindings', 'nats', 'pino']))
    expect(modules()).not.toContain('kysely')
    // Dev tools of the repository never get in: only what the unit's bundle reaches.
    for (const dev of [
      'vitest',
      'typescript',
      'esbuild',
      'tsx',
      '@biomejs',
      'playwright-core',
      'kubernetes-models',
    ])
      expect(modules()).not.toContain(dev)
  })

  it('keeps a native package’s addon and drops its sources and build leftovers', () => {
    const pkg = join(app, 'node_modules', 'better-sqlite3')
    expect(existsSync(join(pkg, 'build/Release/better_sqlite3.node'))).toBe(true)
    expect(existsSync(join(pkg, 'lib'))).toBe(true)
    expect(existsSync(join(pkg, 'deps'))).toBe(false)
    expect(existsSync(join(pkg, 'src'))).toBe(false)
    expect(existsSync(join(pkg, 'build/Release/obj.target'))).toBe(false)
  })

  it('leaves every file readable by the image’s user (the runtime’s bundles are 0600)', () => {
    expect(statSync(join(app, 'users.mjs')).mode & 0o777).toBe(0o644)
    expect(statSync(join(app, 'users.mjs.map')).mode & 0o777).toBe(0o644)
    expect(
      statSync(join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')).mode & 0o444,
    ).toBe(0o444)
    expect(statSync(join(app, 'node_modules')).mode & 0o777).toBe(0o755)
  })

  it('points the bundle at /app instead of the build machine’s folders', () => {
    const bundle = readFileSync(join(app, 'users.mjs'), 'utf8')
    expect(bundle).toContain('file:///app/node_modules/better-sqlite3/')
    expect(bundle).not.toContain(`${resolve(root, '../..')}/`)
    expect(staged.entry).toBe('/app/users.mjs')
    expect(staged.workdir).toBe('/app/examples/reference')
    expect(existsSync(join(app, 'examples/reference'))).toBe(true)
    expect(staged.toImagePath(join(root, 'services/users/service.ts'))).toBe(
      '/app/examples/reference/services/users/service.ts',
    )
  })
})
