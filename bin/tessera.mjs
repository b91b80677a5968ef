#!/usr/bin/env node
// The `tessera` command. Installed from npm it runs the compiled CLI in dist/ on plain
// Node; in a checkout of the repository (src/ is there, dist/ may be stale or absent)
// it runs the sources through tsx, a devDependency there.
import { existsSync } from 'node:fs'

const sources = new URL('../src/cli/main.ts', import.meta.url)
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api')
  register()
  await import(sources.href)
} else {
  await import('../dist/cli/main.js')
}
