/**
 * Tessera as users get it: `npm pack` → install the tarball into a fresh project (npm's
 * local cache; no native build) → plain `node` imports the public subpaths, `tsc` types
 * a consumer (and refuses a wrong call), and `tessera init` writes a system whose own
 * `npm install`, `npm test`, `tessera up`, HTTP route and `tessera call` all work.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../support/free-port.ts'

const run = promisify(execFile)
const repo = resolve(import.meta.dirname, '../../..')
const tsc = join(repo, 'node_modules/typescript/bin/tsc')
let work: string
let app: string
let tarball: string

interface Ran {
  stdout: string
  stderr: string
  code: number
}

async function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(cmd, args, {
      cwd,
      env: { ...process.env, NODE_ENV: '', npm_config_yes: 'true', ...env },
      maxBuffer: 32 * 1024 * 1024,
      timeout: 240_000,
    })
    return { stdout, stderr, code: 0 }
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number }
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 }
  }
}

/** npm install from the local cache; where the cache lacks a package's metadata, the registry fills it in. */
async function npmInstall(cwd: string, args: string[] = []): Promise<number> {
  const started = performance.now()
  let res = await sh('npm', ['install', '--offline', '--no-audit', '--no-fund', ...args], cwd)
  if (res.code !== 0 && /ENOTCACHED/.test(res.stderr))
    res = await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...args], cwd)
  if (res.code !== 0) throw new Error(`npm install failed in ${cwd}:\n${res.stdout}\n${res.stderr}`)
  return performance.now() - started
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

/** GET /welcome/Ada until it answers (the system is starting) or `withinMs` passes. */
async function welcome(port: number, withinMs: number): Promise<Response> {
  const until = Date.now() + withinMs
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/welcome/Ada`)
      if (res.status !== 503 || Date.now() > until) return res
    } catch (err) {
      if (Date.now() > until) throw err
    }
    await sleep(200)
  }
}

/** Native addons compiled on install land in `<package>/build/`: there must be none. */
async function compiledAddons(dir: string): Promise<string[]> {
  const found: string[] = []
  const walk = async (d: string, depth: number): Promise<void> => {
    if (depth > 6) return
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) {
        if (e.name === 'build' && existsSync(join(p, 'Release'))) found.push(p)
        else await walk(p, depth + 1)
      }
    }
  }
  await walk(dir, 0)
  return found
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tessera-package-'))
  const packed = await sh('npm', ['pack', '--pack-destination', work, '--json'], repo)
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stdout}\n${packed.stderr}`)
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string }[]
  tarball = join(work, info!.filename)
  app = join(work, 'app')
  await mkdir(app)
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
  const ms = await npmInstall(app, [tarball])
  console.log(`npm install of the packed tarball: ${Math.round(ms)} ms`)
}, 300_000)

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

describe('the packed tarball', () => {
  it('ships the build, the CLI and the template, and no sources, tests, benches or CI files', async () => {
    const { stdout } = await sh('tar', ['tzf', tarball], work)
    const files = stdout.split('\n').filter(Boolean)
    expect(files).toContain('package/dist/index.js')
    expect(files).toContain('package/dist/index.d.ts')
    expect(files).toContain('package/dist/index.js.map')
    expect(files).toContain('package/bin/tessera.mjs')
    expect(files).toContain('package/LICENSE')
    expect(files).toContain('package/templates/basic/tessera.config.ts')
    // The dashboard's page files, which tsc does not emit (scripts/build.mjs copies them).
    for (const f of ['index.html', 'login.html', 'app.js', 'style.css'])
      expect(files).toContain(`package/dist/runtime/dashboard/static/${f}`)
    // The template's own test is for the user; no other test ships.
    const unwanted = files.filter(
      (f) =>
        /^package\/(src|test|bench|examples|docs|\.ci|scripts)\/|node_modules/.test(f) ||
        (/\.test\./.test(f) && !f.startsWith('package/templates/')),
    )
    expect(unwanted).toEqual([])
  })

  it('installs without compiling anything and without the reference system’s drivers', async () => {
    expect(await compiledAddons(join(app, 'node_modules'))).toEqual([])
    for (const pkg of ['better-sqlite3', 'pg', 'kysely', 'tsx', 'nats'])
      expect(existsSync(join(app, 'node_modules', pkg)), pkg).toBe(false)
  })

  it('runs on plain node: the public subpaths import and a typed call answers', async () => {
    await writeFile(
      join(app, 'main.mjs'),
      `import { createBroker, defineService, TesseraError } from 'tessera'
import { Type as T } from 'tessera/contract'
import { defineSystem } from 'tessera/runtime'
import { startTestSystem } from 'tessera/testkit'
import { createGateway } from 'tessera/gateway'
import { socketTransport } from 'tessera/transport/socket'
const greeter = defineService({ name: 'greeter', actions: ({ action }) => ({
  hello: action({ input: T.Object({ name: T.String({ minLength: 1 }) }), output: T.String(), handler: ({ name }) => 'Hello, ' + name }) }) })
const broker = createBroker({ services: [greeter] })
await broker.start()
const text = await broker.client('greeter').hello({ name: 'Ada' })
const bad = await broker.client('greeter').hello({ name: '' }).catch((e) => e)
await broker.stop()
console.log(JSON.stringify({ text, bad: bad instanceof TesseraError ? bad.code : String(bad),
  kinds: [typeof defineSystem, typeof startTestSystem, typeof createGateway, typeof socketTransport] }))
`,
    )
    const res = await sh(process.execPath, ['main.mjs'], app)
    expect(res.stderr).toBe('')
    expect(JSON.parse(res.stdout)).toEqual({
      text: 'Hello, Ada',
      bad: 'VALIDATION',
      kinds: ['function', 'function', 'function', 'function'],
    })
  })

  it('types a consumer: a right call compiles, a wrong one does not', { timeout: 90_000 }, async () => {
    const service = `import { defineService } from 'tessera'
import { Type as T } from 'tessera/contract'
export const greeter = defineService({ name: 'greeter', actions: ({ action }) => ({
  hello: action({ input: T.Object({ name: T.String() }), output: T.Object({ text: T.String() }), handler: ({ name }) => ({ text: name }) }) }) })
export type GreeterService = typeof greeter
`
    await writeFile(join(app, 'greeter.ts'), service)
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          types: ['node'],
          // The consumer's own @types/node (every Node TypeScript project has one): the repo's.
          typeRoots: [join(repo, 'node_modules/@types')],
          lib: ['ES2023', 'ESNext.Disposable'],
        },
        files: ['consumer.ts'],
      }),
    )
    const call = (input: string, use: string) => `import { createBroker } from 'tessera'
import { greeter, type GreeterService } from './greeter.ts'
const broker = createBroker({ services: [greeter] })
const out = await broker.client<GreeterService>('greeter').hello(${input})
${use}
`
    await writeFile(join(app, 'consumer.ts'), call(`{ name: 'Ada' }`, 'const text: string = out.text'))
    const right = await sh(process.execPath, [tsc, '-p', 'tsconfig.json'], app)
    expect(right.stdout + right.stderr).toBe('')
    expect(right.code).toBe(0)

    await writeFile(join(app, 'consumer.ts'), call(`{ nam: 'Ada' }`, 'const n: number = out.text'))
    const wrong = await sh(process.execPath, [tsc, '-p', 'tsconfig.json'], app)
    expect(wrong.code).not.toBe(0)
    expect(wrong.stdout).toMatch(/consumer\.ts\(4,.*'nam'/)
    expect(wrong.stdout).toMatch(/consumer\.ts\(5,.*not assignable to type 'number'/)
  })
})

describe('tessera init', () => {
  const bin = () => join(app, 'node_modules/tessera/bin/tessera.mjs')

  it('refuses a folder with files in it, naming it', async () => {
    const full = join(work, 'full')
    await mkdir(full)
    await writeFile(join(full, 'keep.txt'), 'mine')
    const res = await sh(process.execPath, [bin(), 'init', full], app)
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/CONFLICT: .*full is not empty \(keep\.txt\).*--force/)
    expect(await readFile(join(full, 'keep.txt'), 'utf8')).toBe('mine')
    expect(existsSync(join(full, 'tessera.config.ts'))).toBe(false)
  })

  // npm install, npm test, a type check and a whole `tessera up`: far more than the default 20 s.
  it('writes a system whose install, tests, up, route and call work', { timeout: 180_000 }, async () => {
    const init = await sh(process.execPath, [bin(), 'init', 'demo'], app)
    expect(init.code, init.stderr).toBe(0)
    expect(init.stdout).toMatch(/wrote a new system "demo"/)
    for (const f of ['tessera.config.ts', 'services/greeter.ts', 'gateway.ts', 'test/front-desk.test.ts'])
      expect(init.stdout).toContain(f)
    const demo = join(app, 'demo')
    const manifest = JSON.parse(await readFile(join(demo, 'package.json'), 'utf8'))
    expect(manifest.dependencies.tessera).toBe(`file:${tarball}`)
    expect(Object.keys(manifest.scripts)).toEqual(expect.arrayContaining(['dev', 'start', 'test']))

    const ms = await npmInstall(demo)
    console.log(`npm install in the new system: ${Math.round(ms)} ms`)
    const test = await sh('npm', ['test'], demo)
    expect(test.code, test.stdout + test.stderr).toBe(0)
    expect(test.stdout).toMatch(/3 passed/)
    const types = await sh('npm', ['run', 'typecheck'], demo)
    expect(types.code, types.stdout + types.stderr).toBe(0)

    const port = await freePort()
    const env = { PORT: String(port) }
    const tessera = (...args: string[]) => sh('npx', ['tessera', ...args], demo, env)
    // `npm start` as a user runs it (foreground `tessera up`), until `tessera down`.
    const start = spawn('npm', ['start'], { cwd: demo, env: { ...process.env, NODE_ENV: '', ...env } })
    let printed = ''
    start.stdout.on('data', (c: Buffer) => (printed += c))
    start.stderr.on('data', (c: Buffer) => (printed += c))
    const exited = new Promise<number | null>((done) => start.on('exit', (code) => done(code)))
    try {
      const res = await welcome(port, 30_000)
      expect(res.status, printed).toBe(200)
      expect(await res.json()).toEqual({ message: 'Hello, Ada! Welcome to demo.' })
      const internal = await fetch(`http://127.0.0.1:${port}/greeter/hello`)
      expect(internal.status).toBe(404)
      const called = await tessera('call', 'greeter.hello', '{"name":"Bob"}')
      expect(called.code, called.stderr).toBe(0)
      expect(JSON.parse(called.stdout)).toEqual({ text: 'Hello, Bob!' })
      const status = await tessera('status')
      expect(status.stdout).toMatch(/greeter#2\s+ready/)
      expect(status.stdout).toMatch(/gateway#1\s+ready/)
    } finally {
      const down = await tessera('down')
      const code = await Promise.race([exited, sleep(20_000).then(() => 'still running')])
      if (code === 'still running') start.kill('SIGKILL')
      expect(down.code, down.stderr).toBe(0)
      expect(code, printed).toBe(0)
    }
    expect(printed).toMatch(/demo is up/)
  })
})
