import { createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TesseraError } from '../../errors/index.ts'

const require = createRequire(import.meta.url)
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/**
 * The tsx loader of the `build: false` fallback, resolved from this package so instances
 * need no tsx of their own. tsx is not a dependency of the published package (instances
 * run esbuild bundles): a project that wants the fallback installs it, and is told so.
 */
export function tsxLoader(): string {
  try {
    return require.resolve('tsx')
  } catch {
    try {
      return createRequire(`${process.cwd()}/`).resolve('tsx')
    } catch {
      throw new TesseraError(
        'BAD_REQUEST',
        '`build: false` runs entries through tsx, which is not installed: run `npm install --save-dev tsx`, or remove `build: false`',
      )
    }
  }
}

/**
 * Every instance's young generation is capped at 2 MiB semi-spaces. V8 grows them up to
 * 16 MiB while start-up allocates (module loading, migrations) and keeps them committed
 * afterwards, idle or not: the cap takes ~10 MB off each idle instance's RSS at no
 * CPU per call we could measure under load (docs/performance.md, decision 0028).
 * Command-line flags win over `NODE_OPTIONS`, so this is a system-wide choice.
 */
export const YOUNG_GENERATION_ARGS: readonly string[] = ['--max-semi-space-size=2']

/**
 * Node flags for one instance. `tsx` loads TypeScript through tsx's loader (the
 * fallback path); a built instance gets `--enable-source-maps` instead, so stack traces
 * name the source files. Both get {@link YOUNG_GENERATION_ARGS}. `heapMb` caps V8's old
 * space (the fallback memory limit where cgroups are not writable). `ownFolders` switches on Node 20's permission model: reads
 * only from those folders, this package, `transportDirs` (what the transport uses, e.g.
 * the socket folder) and `readDirs` (the build folder); writes only to the folders and
 * `transportDirs`. Child processes and
 * workers stay allowed: tsx runs esbuild as a child and its loader hooks in a worker.
 */
export function nodeArgs(options: {
  tsx: boolean
  heapMb?: number
  ownFolders?: string[]
  transportDirs?: string[]
  readDirs?: string[]
}): string[] {
  const args = options.tsx ? ['--import', tsxLoader()] : ['--enable-source-maps']
  args.push(...YOUNG_GENERATION_ARGS)
  if (options.heapMb !== undefined) args.push(`--max-old-space-size=${options.heapMb}`)
  if (options.ownFolders) {
    const extra = options.transportDirs ?? []
    const read = trees([
      ...options.ownFolders,
      packageRoot,
      ...extra,
      ...(options.readDirs ?? []),
      '/tmp',
    ]).map((d) => `--allow-fs-read=${d}`)
    const write = trees([...options.ownFolders, ...extra, '/tmp']).map((d) => `--allow-fs-write=${d}`)
    args.push(
      '--experimental-permission',
      ...read,
      ...write,
      '--allow-child-process',
      '--allow-worker',
      '--no-warnings',
    )
  }
  return args
}

/**
 * Folder patterns as Node 20 wants them: one flag each (a comma list mishandles a folder
 * inside another), a trailing `/*` to cover what is beneath, and nested folders dropped.
 */
function trees(dirs: string[]): string[] {
  const clean = [...new Set(dirs.map((d) => d.replace(/\/+$/, '')))]
  return clean.filter((d) => !clean.some((o) => o !== d && d.startsWith(`${o}/`))).map((d) => `${d}/*`)
}
