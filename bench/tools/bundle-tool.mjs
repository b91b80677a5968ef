// The bench tools' bundling: a generated client (written into `dir` as client.ts) and one
// bench peer, each to plain ESM with packages external, as bench/build.mjs does for the
// bench itself, so the tools measure compiled code of the checkout they bundle.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'

const options = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
}

/** Bundles `clientSource` to `<dir>/client.mjs` and `peerEntry` to `<dir>/<peerName>`; returns the client's path. */
export async function bundleTool(dir, clientSource, peerEntry, peerName) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'client.ts'), clientSource)
  await build({ ...options, entryPoints: [join(dir, 'client.ts')], outfile: join(dir, 'client.mjs') })
  await build({ ...options, entryPoints: [peerEntry], outfile: join(dir, peerName) })
  return join(dir, 'client.mjs')
}
