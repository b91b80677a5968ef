// The system tests in two lanes at once: vitest's projects `system` and `system-apart`
// (vitest.config.ts says which files go where). Each lane runs its files one at a time,
// so a lane's load tests never share the machine with another of its own; the lanes are
// split so that what one runs mostly waits (image builds, npm installs, agents over network
// namespaces) while the other runs processes under load. Both lanes' lines stream as they
// come, each prefixed with its lane; the exit code is the first failing lane's.
// `node scripts/test-system.mjs [vitest args…]`, e.g. `-t partition`.
//
// `--with-node24` (test-fresh, after it set Node 24 up): two more lanes, Node 24's unit
// tests and its core system tests (scripts/test-node24.mjs). Still two lanes run at a
// time: each Node 24 lane takes the place of the first Node 20 lane to finish, so the
// machine carries the load it carries now while none of it waits for the slower lane.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs')
const args = process.argv.slice(2)
const withNode24 = args.includes('--with-node24')
const filters = args.filter((a) => a !== '--with-node24')
// A lane none of whose files a filter (-t, a file name) picks is not a failure.
const extra = filters.length > 0 ? [...filters, '--passWithNoTests'] : []
const node24 = (what) => ({
  name: `node24 ${what}`,
  args: [join(root, 'scripts', 'test-node24.mjs'), what],
  env: { TESSERA_NODE24_PREPARED: '1' },
})
const lanes = [
  ...['system', 'system-apart'].map((project) => ({
    name: project,
    args: [vitest, 'run', '--project', project, ...extra],
    env: {},
  })),
  ...(withNode24 ? [node24('unit'), node24('core-system')] : []),
]
const AT_ONCE = 2
const startedAt = Date.now()

function run(lane) {
  const child = spawn(process.execPath, lane.args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '1', ...lane.env },
  })
  const tag = `[${lane.name}] `
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
      resolve({ name: lane.name, code: code ?? (signal ? 1 : 0), ms: Date.now() - startedAt }),
    ),
  )
}

// A pool of AT_ONCE: each slot takes the next lane when its last one ends.
const queue = [...lanes]
const results = []
await Promise.all(
  Array.from({ length: AT_ONCE }, async () => {
    for (let lane = queue.shift(); lane !== undefined; lane = queue.shift()) results.push(await run(lane))
  }),
)
for (const r of results)
  console.log(
    `::: ${r.name}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} after ${Math.round(r.ms / 1000)} s`,
  )
process.exit(results.find((r) => r.code !== 0)?.code ?? 0)
