// `npm run build` (and `npm pack` through prepack): compiles src/ into dist/ with tsc and
// copies the non-TypeScript assets (the dashboard's page files).
// dist/ is emptied first so a file removed from src/ never lingers in a package.
import { execFileSync } from 'node:child_process'
import { cpSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const started = performance.now()
rmSync(join(root, 'dist'), { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
  cwd: root,
})
// Files tsc does not emit but the package needs at run time, beside the modules that read them.
for (const dir of ['runtime/dashboard/static']) {
  cpSync(join(root, 'src', dir), join(root, 'dist', dir), { recursive: true })
}
console.log(`built dist/ in ${Math.round(performance.now() - started)} ms`)
