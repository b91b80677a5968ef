import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { TesseraError } from '../../errors/index.ts'

/** What Node says when it cannot run a `.ts` file as it is. */
const cannotRunTypeScript = new Set([
  'ERR_UNKNOWN_FILE_EXTENSION',
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
  'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING',
])
let bundles = 0

/**
 * Imports a config module. A `.ts` config that Node cannot run itself (plain Node 20,
 * no tsx) is compiled with esbuild — already a dependency, since instances run esbuild
 * bundles — so a project needs no TypeScript loader of its own. Its relative imports are
 * bundled; packages stay imports, resolved from the config's folder: the bundle is
 * written to `<config folder>/node_modules/.cache/tessera/` and removed once imported.
 */
export async function importConfig(path: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>
  } catch (err) {
    if (!cannotRunTypeScript.has((err as { code?: string }).code ?? '')) throw err
  }
  const esbuild = await import('esbuild')
  let code: string
  try {
    const result = await esbuild.build({
      entryPoints: [path],
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: `node${process.versions.node.split('.')[0]}`,
      write: false,
      logLevel: 'silent',
    })
    code = result.outputFiles[0]?.text ?? ''
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] })
      .errors
    if (!errors) throw err
    const lines = errors.map(
      (e) => `  ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`,
    )
    throw new TesseraError('VALIDATION', `cannot compile ${path}:\n${lines.join('\n')}`)
  }
  const dir = join(dirname(path), 'node_modules', '.cache', 'tessera')
  const file = join(dir, `config-${process.pid}-${++bundles}.mjs`)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFile(file, code, { mode: 0o600 })
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } finally {
    await rm(file, { force: true })
  }
}
