// The system tests in two lanes at once: vitest's projects `system` and `system-apart`
// (vitest.config.ts says which files go where). Each lane runs its files one at a time,
// so a lane's load tests never share the machine with another of its own; the lanes are
// split so that what one runs mostly waits (image builds, npm installs, agents over network
// namespaces) while the other runs processes under load. Both lanes' lines stream as they
// come, each prefixed with its lane; the exit code is the first failing lane's.
// `node scripts/test-system.mjs [vitest args…]`, e.g. `-t partition`.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs')
const lanes = ['system', 'system-apart']
const filters = process.argv.slice(2)
// A lane none of whose files a filter (-t, a file name) picks is not a failure.
const extra = filters.length > 0 ? [...filters, '--passWithNoTests'] : []
const startedAt = Date.now()

function run(project) {
  const child = spawn(process.execPath, [vitest, 'run', '--project', project, ...extra], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '1' },
  })
  const tag = `[${project}] `
  for (const stream of [child.stdout, child.stderr]) {
    let rest = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) process.stdout.write(`${tag}${line}\n`)
    })
    stream.on('end', () => {
      if (rest) process.stdout.write(`${tag}${rest}\n`)
    })
  }
  return new Promise((resolve) =>
    child.on('exit', (code, signal) =>
      resolve({ project, code: code ?? (signal ? 1 : 0), ms: Date.now() - startedAt }),
    ),
  )
}

const results = await Promise.all(lanes.map(run))
for (const r of results)
  console.log(
    `::: ${r.project}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} after ${Math.round(r.ms / 1000)} s`,
  )
process.exit(results.find((r) => r.code !== 0)?.code ?? 0)
