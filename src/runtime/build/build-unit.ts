import { chmod, readFile, rm } from 'node:fs/promises'
import { dirname, extname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { BuildFailure, Message, Plugin } from 'esbuild'
import { TesseraError } from '../../errors/index.ts'
import type { InstanceTransportModule } from '../config/index.ts'
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../files/index.ts'

/** One build of a unit: the bundle its instances run. */
export interface UnitBuild {
  /** Run as `node --enable-source-maps <file>`; a sibling `<file>.map` maps it back to the sources. */
  file: string
  /** Every source file bundled into it (absolute paths; packages stay outside the bundle). */
  inputs: string[]
  /** The `node_modules` folders its outside packages load from (readable under `own-folder`). */
  packageDirs: string[]
  /** How long esbuild took. */
  ms: number
}

export interface BuildUnitOptions {
  unit: string
  services: { name: string; entry: string }[]
  /** The transport factory the bundle imports (`TransportKind.instanceModule` of the system's kind). */
  transport: InstanceTransportModule
  /** `<stateDir>/build`: the bundle goes to `<outDir>/<unit>/<stamp>.mjs`. */
  outDir: string
  /** Paths in error messages are relative to this folder (the system root). */
  root: string
}

/** One line of a failed build: where and what. */
export interface BuildIssue {
  file: string | undefined
  line: number | undefined
  column: number | undefined
  text: string
}

const self = fileURLToPath(import.meta.url)
const here = dirname(self)
// `.ts` in a checkout (tests run the sources), `.js` in the published build.
const ext = extname(self)
/** This package's compiled files (`<package>/dist/`), when it runs from its build. */
const ownDist = `${resolve(here, '../..')}/`
const runInstanceModule = resolve(here, `../instance/run-instance${ext}`)
/**
 * Pure-JS ES-module packages bundled rather than imported, because each module Node
 * loads on its own costs memory for good (its source, module record, scope and code):
 * TypeBox's ESM build is some 200 modules, and loading it as one saves ~7 MB RSS and
 * start time per process; Kysely (the reference system's query builder) is ~300, 15.6 MB
 * RSS loaded as they are, 3.5 MB bundled (its FileMigrationProvider imports migration
 * files by absolute path at run time, which still works from a bundle). Anything with
 * native code or file lookups stays outside, and so do CommonJS packages (their
 * `require` of Node's modules does not run from an ES-module bundle). `tessera` itself is bundled too: the generated entry imports the instance
 * program by path, and a service's `import … from 'tessera'` must reach the same modules
 * (one TesseraError class, one adapter brand) rather than a second copy loaded by URL.
 */
const bundledPackages = new Set(['@sinclair/typebox', 'tessera', 'kysely'])
let stamps = 0

/**
 * Bundles one unit into a single ES module: a generated entry importing the instance
 * program, the transport in use and the unit's service entries, so Tessera's own
 * modules exist once per process. TypeScript (also a package whose files are
 * TypeScript, like `tessera` itself) is bundled; other packages stay outside and are
 * imported by absolute URL, resolved from the importing source file as Node would —
 * native modules keep working, and the bundle may live anywhere. `import.meta.url`,
 * `.filename` and `.dirname` keep meaning the source file. Each build gets a new file,
 * so instances already running keep theirs.
 *
 * Rejects with a VALIDATION TesseraError listing every error as `file:line:column: text`
 * (relative to `root`); `data.issues` holds them as data. No type checking: like tsx.
 */
export async function buildUnit(options: BuildUnitOptions): Promise<UnitBuild> {
  try {
    return (await buildTogether([options], options))[0]!
  } catch (err) {
    const failure = err as Partial<BuildFailure>
    if (!Array.isArray(failure.errors)) throw err
    throw buildError(options.unit, options.root, failure.errors)
  }
}

/**
 * Builds several units of one system in one esbuild run (files they share are read
 * and parsed once: what `up` needs). Returns one promise per unit, in order. If the run
 * fails, every unit is built alone, so each promise resolves or rejects with its own
 * errors, as `buildUnit` would.
 */
export function buildUnits(
  units: Pick<BuildUnitOptions, 'unit' | 'services'>[],
  options: Omit<BuildUnitOptions, 'unit' | 'services'>,
): Promise<UnitBuild>[] {
  const together = buildTogether(units, options)
  return units.map((u, i) =>
    together.then(
      (builds) => builds[i]!,
      () => buildUnit({ ...options, ...u }),
    ),
  )
}

async function buildTogether(
  units: Pick<BuildUnitOptions, 'unit' | 'services'>[],
  options: Omit<BuildUnitOptions, 'unit' | 'services'>,
): Promise<UnitBuild[]> {
  const esbuild = await import('esbuild')
  const stamp = `${Date.now().toString(36)}-${(++stamps).toString(36)}`
  const sources = new Map(units.map((u) => [u.unit, entrySource(u, options.transport)]))
  const started = performance.now()
  const packageDirs = new Set<string>()
  // esbuild writes 0755 folders and 0644 files: the folders are made private first (so
  // nobody else can reach a bundle before its chmod below), the files tightened after.
  for (const u of units) ensurePrivateDir(join(options.outDir, u.unit))
  const result = await esbuild.build({
    entryPoints: units.map((u) => ({ in: `${unitNamespace}:${u.unit}`, out: `${u.unit}/${stamp}` })),
    outdir: options.outDir,
    outExtension: { '.js': '.mjs' },
    absWorkingDir: options.root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    conditions: ['node'],
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'silent',
    define: {
      'import.meta.url': '__tesseraMetaUrl',
      'import.meta.filename': '__tesseraMetaFilename',
      'import.meta.dirname': '__tesseraMetaDirname',
    },
    plugins: [generatedEntries(sources, options.root), packagesOutside(packageDirs), sourceFileMeta],
  })
  const ms = performance.now() - started
  await Promise.all(
    Object.keys(result.metafile.outputs).map((out) => chmod(resolve(options.root, out), PRIVATE_FILE_MODE)),
  )
  return units.map((u) => {
    const file = join(options.outDir, u.unit, `${stamp}.mjs`)
    const output = Object.entries(result.metafile.outputs).find(
      ([out]) => resolve(options.root, out) === file,
    )
    const inputs = Object.keys(output?.[1].inputs ?? {})
      .filter((p) => !p.startsWith(`${unitNamespace}:`))
      .map((p) => resolve(options.root, p))
    return { file, inputs, packageDirs: [...packageDirs], ms }
  })
}

const unitNamespace = 'tessera-unit'

/** `tessera-unit:<name>`: the generated entry of a unit. */
function generatedEntries(sources: Map<string, string>, root: string): Plugin {
  return {
    name: 'tessera-generated-entries',
    setup(build) {
      build.onResolve({ filter: /^tessera-unit:/ }, (args) => ({
        path: args.path.slice(unitNamespace.length + 1),
        namespace: unitNamespace,
      }))
      build.onLoad({ filter: /.*/, namespace: unitNamespace }, (args) => ({
        contents: sources.get(args.path) ?? '',
        resolveDir: root,
        loader: 'js',
      }))
    },
  }
}

/** Removes a bundle and its source map; a file already gone is fine. */
export async function removeBuild(build: UnitBuild): Promise<void> {
  await Promise.all([rm(build.file, { force: true }), rm(`${build.file}.map`, { force: true })])
}

/** Removes every build of a unit (left by an earlier run). */
export async function removeUnitBuilds(outDir: string, unit: string): Promise<void> {
  await rm(join(outDir, unit), { recursive: true, force: true })
}

function entrySource(
  unit: Pick<BuildUnitOptions, 'unit' | 'services'>,
  transport: InstanceTransportModule,
): string {
  const loaders = unit.services
    .map((s) => `  ${JSON.stringify(s.entry)}: () => import(${JSON.stringify(s.entry)}),`)
    .join('\n')
  // Entries are imported dynamically (still bundled): an entry throwing while it loads
  // is then a start failure the instance reports, as on the tsx path.
  return `import { runInstance } from ${JSON.stringify(runInstanceModule)}
import { ${transport.exportName} as transportOf } from ${JSON.stringify(transport.file)}
const entries = {
${loaders}
}
await runInstance({
  load: (entry) => {
    const load = entries[entry]
    if (!load) throw new Error(\`\${entry} is not in this build of ${unit.unit}\`)
    return load()
  },
  transport: transportOf,
})
`
}

/** Marks the resolutions `packagesOutside` asks for itself. */
const resolving = Symbol('resolving')

/**
 * Bare imports: a package whose resolved file is TypeScript is bundled (Node could not
 * run it), as are `bundledPackages`; any other stays outside, imported by the absolute
 * URL esbuild resolved from the importing file. An unresolvable static import is a build
 * error; an unresolvable `import()` or `require` stays bare, so an optional dependency
 * fails at run time only if it is used, as without a build.
 */
const packagesOutside = (packageDirs: Set<string>): Plugin => ({
  name: 'tessera-packages-outside',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === resolving) return undefined
      const found = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: resolving,
      })
      if (found.errors.length > 0) {
        // A static import that cannot resolve would fail the whole instance at load:
        // a build error naming the source line. A dynamic one may be optional.
        if (args.kind === 'import-statement') return { errors: found.errors }
        return { path: args.path, external: true }
      }
      if (found.external) return { path: found.path, external: true }
      if (
        /\.[cm]?tsx?$/.test(found.path) ||
        args.path.startsWith('#') ||
        bundledPackages.has(packageOf(args.path))
      )
        return { path: found.path }
      const modules = found.path.lastIndexOf('/node_modules/')
      if (modules >= 0) packageDirs.add(found.path.slice(0, modules + '/node_modules'.length))
      return { path: pathToFileURL(found.path).href, external: true }
    })
  },
})

/**
 * A TypeScript file using `import.meta.url`, `.filename` or `.dirname` gets its own values
 * as constants (the `define`s above point at them), declared on its first line so line
 * numbers stay those of the file.
 */
const sourceFileMeta: Plugin = {
  name: 'tessera-source-file-meta',
  setup(build) {
    // TypeScript, and Tessera's own compiled files (installed, `tessera` is JS and is
    // bundled: its runtime reads import.meta.url): a round trip to JS per file costs,
    // and other bundled JS is packages that do not use it.
    build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
      if (!/\.[cm]?tsx?$/.test(args.path) && !args.path.startsWith(ownDist)) return undefined
      const source = await readFile(args.path, 'utf8')
      if (!source.includes('import.meta')) return undefined
      const meta = `const __tesseraMetaUrl = ${JSON.stringify(pathToFileURL(args.path).href)}, __tesseraMetaFilename = ${JSON.stringify(args.path)}, __tesseraMetaDirname = ${JSON.stringify(dirname(args.path))};`
      return { contents: `${meta}${source}`, loader: loaderOf(args.path), resolveDir: dirname(args.path) }
    })
  },
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/')
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/')
}

function loaderOf(path: string): 'ts' | 'tsx' | 'js' {
  if (/\.[cm]?js$/.test(path)) return 'js'
  return path.endsWith('x') ? 'tsx' : 'ts'
}

function buildError(unit: string, root: string, errors: Message[]): TesseraError {
  const issues: BuildIssue[] = errors.map((e) => ({
    file: e.location ? relative(root, resolve(root, e.location.file)) : undefined,
    line: e.location?.line,
    column: e.location ? e.location.column + 1 : undefined,
    text: e.text,
  }))
  const lines = errors.map((e, i) => {
    const issue = issues[i]!
    const where = issue.file === undefined ? '' : `${issue.file}:${issue.line}:${issue.column}: `
    const code = e.location?.lineText ? `\n    ${e.location.lineText.trim()}` : ''
    return `  ${where}${issue.text}${code}`
  })
  return new TesseraError('VALIDATION', `build of ${unit} failed:\n${lines.join('\n')}`, { issues })
}
