// Bundles the benchmarks to plain JavaScript before running them: production runs
// compiled code, and tsx's dev transform (it keeps function names by wrapping every
// closure) would measure the loader, not Tessera. Packages stay external. A second copy
// goes to bench/peers-next/build/ for the Node 24 line (lib/next-line.ts): from there a
// bare `moleculer` resolves to the current release in bench/peers-next/node_modules.
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const peers = join(here, 'peers')
const entryPoints = [join(here, 'run.ts')]
try {
  for (const f of readdirSync(peers)) if (f.endsWith('.ts')) entryPoints.push(join(peers, f))
} catch {}
for (const outdir of [join(here, 'results', 'build'), join(here, 'peers-next', 'build')])
  await build({
    entryPoints,
    outdir,
    outbase: here,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  })
