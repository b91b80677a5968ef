import { chmod, cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { pathToFileURL } from 'node:url'

/** Where a unit's files live inside its image. */
export const APP_DIR = '/app'

export interface StageOptions {
  unit: string
  /** The unit's bundle (`UnitBuild.file`) and the `node_modules` folders its packages load from. */
  build: { file: string; packageDirs: string[] }
  /** The system root (the config's folder): the instance's working directory. */
  root: string
  /** Folders or files (relative to `root`) the unit reads at run time, copied as they are (e.g. a web page). */
  include?: string[]
  /** An empty folder to fill: `<dir>/app` becomes the image's `/app`. */
  dir: string
}

export interface StagedUnit {
  /** The bundle inside the image. */
  entry: string
  /** The working directory inside the image (the root's place under /app). */
  workdir: string
  /** Maps a host path under the copied tree to its path in the image (for TESSERA_INSTANCE). */
  toImagePath(path: string): string
  /** The packages copied (folders under a node_modules), host paths. */
  packages: string[]
}

/**
 * Lays out what one unit's image holds: its bundle and the packages the bundle imports
 * from outside it (the production dependencies it actually needs, also native ones such as
 * better-sqlite3, with what they depend on in turn), under `/app` in the same relative
 * places as on the build machine. The bundle imports outside packages by absolute URL;
 * those URLs (and the entry paths in it) are rewritten from the common folder of the root
 * and the `node_modules` folders to `/app`. Native packages lose their build
 * intermediates and sources (`deps/`, `src/`, `build/` except `build/Release/*.node`).
 *
 * Rejects when a package the bundle imports is missing on disk.
 */
export async function stageUnit(options: StageOptions): Promise<StagedUnit> {
  const base = commonDir([options.root, ...options.build.packageDirs.map((d) => dirname(d))])
  const toImagePath = (path: string): string =>
    path === base ? APP_DIR : `${APP_DIR}/${relative(base, path).split(sep).join('/')}`
  const baseUrl = `${pathToFileURL(base).href}/`
  const source = await readFile(options.build.file, 'utf8')
  const imported = packagesImported(source, baseUrl, base)
  const bundle = source.replaceAll(baseUrl, `file://${APP_DIR}/`).replaceAll(`${base}/`, `${APP_DIR}/`)
  const app = join(options.dir, 'app')
  // The working directory exists even when nothing of the root is copied (no `include`).
  await mkdir(join(app, relative(base, options.root)), { recursive: true })
  await writeFile(join(app, `${options.unit}.mjs`), bundle)
  await cp(`${options.build.file}.map`, join(app, `${options.unit}.mjs.map`)).catch(() => {})

  const packages = await withDependencies(imported, base)
  for (const pkg of packages) await copyPackage(pkg, join(app, relative(base, pkg)))
  for (const item of options.include ?? []) {
    const from = join(options.root, item)
    await cp(from, join(app, relative(base, from)), { recursive: true })
  }
  // The image's user is not the one who built it: every file readable (the runtime's own
  // builds are 0600, and a umask of 077 would make the copies so too), nothing writable.
  await readableByAll(app)
  return {
    entry: `${APP_DIR}/${options.unit}.mjs`,
    workdir: toImagePath(options.root),
    toImagePath,
    packages,
  }
}

/** Package folders (`…/node_modules/[@scope/]name`) the bundle imports by file URL. */
function packagesImported(source: string, baseUrl: string, base: string): Set<string> {
  const found = new Set<string>()
  const escaped = baseUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const pattern = new RegExp(`${escaped}((?:[^"'\`\\s]*/)?node_modules/(?:@[^/"'\`]+/)?[^/"'\`]+)/`, 'g')
  for (const match of source.matchAll(pattern)) found.add(join(base, decodeURIComponent(match[1]!)))
  return found
}

/**
 * The packages with their dependencies, transitively: `dependencies`, and the optional and
 * peer ones that are installed, each found as Node would (the nearest `node_modules` up
 * from the package), never above `base`.
 */
async function withDependencies(packages: Set<string>, base: string): Promise<string[]> {
  const all = new Set<string>()
  const queue = [...packages]
  while (queue.length > 0) {
    const pkg = queue.pop()!
    if (all.has(pkg)) continue
    const manifest = await readJson(join(pkg, 'package.json'))
    if (!manifest) throw new Error(`the bundle imports ${pkg}, which has no package.json`)
    all.add(pkg)
    const required = Object.keys(manifest.dependencies ?? {})
    const optional = [
      ...Object.keys(manifest.optionalDependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]
    for (const name of required) {
      const found = await findPackage(name, pkg, base)
      if (!found) throw new Error(`${name} (a dependency of ${pkg}) is not installed`)
      queue.push(found)
    }
    for (const name of optional) {
      const found = await findPackage(name, pkg, base)
      if (found) queue.push(found)
    }
  }
  return [...all].sort()
}

async function findPackage(name: string, from: string, base: string): Promise<string | undefined> {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name)
    if (await isDir(candidate)) return candidate
    if (dir === base || dir === dirname(dir) || !dir.startsWith(base)) return undefined
  }
}

/** Copies a package without its nested node_modules (copied on their own when needed) and build leftovers. */
async function copyPackage(from: string, to: string): Promise<void> {
  const native = await isFile(join(from, 'binding.gyp'))
  await cp(from, to, {
    recursive: true,
    filter: (path) => {
      const rel = relative(from, path).split(sep).join('/')
      if (rel === '') return true
      if (rel === 'node_modules' || rel.startsWith('node_modules/')) return false
      if (!native) return true
      if (/^(deps|src)(\/|$)/.test(rel)) return false
      if (rel === 'build' || rel === 'build/Release') return true
      if (rel.startsWith('build/')) return /^build\/Release\/[^/]+\.node$/.test(rel)
      return true
    },
  })
}

async function readableByAll(dir: string): Promise<void> {
  await chmod(dir, 0o755)
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await readableByAll(path)
    else if (entry.isFile()) await chmod(path, ((await stat(path)).mode & 0o111) !== 0 ? 0o755 : 0o644)
  }
}

function commonDir(paths: string[]): string {
  const split = paths.map((p) => p.split(sep))
  const first = split[0]!
  let n = 0
  while (n < first.length && split.every((parts) => parts[n] === first[n])) n++
  return first.slice(0, n).join(sep) || sep
}

async function readJson(
  file: string,
): Promise<Record<string, Record<string, string> | undefined> | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8'))
  } catch {
    return undefined
  }
}

const isDir = (p: string) =>
  stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  )
const isFile = (p: string) =>
  stat(p).then(
    (s) => s.isFile(),
    () => false,
  )
