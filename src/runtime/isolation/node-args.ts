import { createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/** The tsx loader, resolved from this package so instances need no tsx of their own. */
export const tsxLoader = require.resolve('tsx')

/**
 * Node flags for one instance. `heapMb` caps V8's old space (the fallback memory limit
 * where cgroups are not writable). `ownFolders` switches on Node 20's permission model:
 * reads only from those folders, this package and the transport dir; writes only to the
 * folders and the transport dir. Child processes stay allowed: tsx runs esbuild as one.
 */
export function nodeArgs(options: {
  heapMb?: number
  ownFolders?: string[]
  transportDir?: string
}): string[] {
  const args = ['--import', tsxLoader]
  if (options.heapMb !== undefined) args.push(`--max-old-space-size=${options.heapMb}`)
  if (options.ownFolders) {
    const extra = options.transportDir ? [options.transportDir] : []
    const read = [...options.ownFolders, packageRoot, ...extra, '/tmp']
    const write = [...options.ownFolders, ...extra, '/tmp']
    args.push(
      '--experimental-permission',
      `--allow-fs-read=${read.join(',')}`,
      `--allow-fs-write=${write.join(',')}`,
      '--allow-child-process',
      '--no-warnings',
    )
  }
  return args
}
