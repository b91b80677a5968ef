import { existsSync } from 'node:fs'
import { cp, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TesseraError } from '../../errors/index.ts'
import { out } from '../output.ts'

export interface InitOptions {
  /** Write into a folder that already has files (existing files are overwritten). */
  force?: boolean
  /** The `tessera` dependency of the new package.json (a version range, a tarball, a folder). */
  tessera?: string
}

const packageRoot = fileURLToPath(new URL('../../../', import.meta.url))
const template = join(packageRoot, 'templates', 'basic')
/** npm drops files named `.gitignore` from packages, so the template carries `_gitignore`. */
const renamed: Record<string, string> = { _gitignore: '.gitignore' }

/**
 * `tessera init [dir]`: writes a small working system (a config, two services where one
 * calls the other, a gateway unit with a public route, a test kit test, package.json
 * with `dev`, `start` and `test`). Refuses a folder with files in it unless `force`;
 * prints every file it wrote and what to run next.
 */
export async function init(dir = '.', options: InitOptions = {}): Promise<void> {
  const target = resolve(dir)
  const present = existsSync(target) ? await readdir(target) : []
  if (present.length > 0 && !options.force)
    throw new TesseraError(
      'CONFLICT',
      `${target} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', …' : ''}): choose an empty folder, or pass --force to write into it`,
    )
  const name = packageName(basename(target))
  await mkdir(target, { recursive: true })
  await cp(template, target, { recursive: true })
  const written: string[] = []
  for (const file of await listFiles(template)) {
    const at = join(target, file)
    const text = await readFile(at, 'utf8')
    if (text.includes('__NAME__')) await writeFile(at, text.replaceAll('__NAME__', name))
    const base = basename(file)
    const finalName = renamed[base]
    if (finalName) {
      await rename(at, join(dirname(at), finalName))
      written.push(join(dirname(file), finalName))
    } else written.push(file)
  }
  const own = JSON.parse(await readFile(join(packageRoot, 'package.json'), 'utf8')) as OwnPackage
  const manifest = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      dev: 'tessera dev',
      start: 'tessera up',
      test: 'vitest run',
      typecheck: 'tsc --noEmit',
    },
    dependencies: { tessera: await tesseraSpec(options.tessera, own, target) },
    devDependencies: {
      '@types/node': own.devDependencies?.['@types/node'] ?? '^20.19.0',
      typescript: own.devDependencies?.typescript ?? '~5.9',
      vitest: own.devDependencies?.vitest ?? '^4.1.0',
    },
  }
  await writeFile(join(target, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  written.push('package.json')

  out.line(`tessera: wrote a new system "${name}" in ${target}:`)
  for (const file of written.sort()) out.line(`  ${file}`)
  out.line('')
  out.line('next:')
  const from = relative(process.cwd(), target)
  if (from !== '') out.line(`  cd ${from.startsWith('..') ? target : from}`)
  out.line('  npm install')
  out.line('  npm start        # then open http://127.0.0.1:3000/welcome/Ada')
  out.line('  npm test')
}

interface OwnPackage {
  version: string
  devDependencies?: Record<string, string>
}

/**
 * The `tessera` the new system depends on: `--tessera` if given; else the spec of the
 * project this command runs in (`npx tessera init` in a project that installed tessera
 * from a tarball or a folder gets that same one, made absolute); else, run from a
 * checkout of Tessera, that checkout; else `^<this version>` from the registry.
 */
async function tesseraSpec(given: string | undefined, own: OwnPackage, target: string): Promise<string> {
  if (given) return absoluteFileSpec(given, process.cwd())
  const enclosing = await enclosingSpec(dirname(target))
  if (enclosing) return enclosing
  if (existsSync(join(packageRoot, 'src', 'cli'))) return `file:${packageRoot.replace(/\/$/, '')}`
  return `^${own.version}`
}

async function enclosingSpec(from: string): Promise<string | undefined> {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(await readFile(file, 'utf8')) as {
          name?: string
          dependencies?: Record<string, string>
          devDependencies?: Record<string, string>
        }
        if (pkg.name === 'tessera') return undefined
        const spec = pkg.dependencies?.tessera ?? pkg.devDependencies?.tessera
        if (spec) return absoluteFileSpec(spec, dir)
      } catch {
        // An unreadable package.json says nothing about tessera: look further up.
      }
    }
    if (dirname(dir) === dir) return undefined
  }
}

/** A path or `file:` spec relative to `base` becomes an absolute `file:` spec; others stay. */
function absoluteFileSpec(spec: string, base: string): string {
  const path = spec.startsWith('file:') ? spec.slice(5) : spec
  const looksLikePath = spec.startsWith('file:') || /^\.{0,2}\//.test(spec) || spec.endsWith('.tgz')
  if (!looksLikePath) return spec
  return `file:${isAbsolute(path) ? path : resolve(base, path)}`
}

/** A folder name made into a valid npm package name. */
function packageName(folder: string): string {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[-]+$/g, '')
  return name === '' ? 'my-system' : name
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const files: string[] = []
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name
    if (e.isDirectory()) files.push(...(await listFiles(join(dir, e.name), rel)))
    else files.push(rel)
  }
  return files
}
