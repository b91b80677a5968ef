// `npm run test:fresh`: everything the tests need, then the tests, on a machine that has
// only Node and npm. Installs what is missing — nats-server, PostgreSQL 15, Chromium and Prometheus
// from Debian, and podman with its companions for the container test (apt-get, as root;
// otherwise prints the exact command and stops; podman also gets the
// /etc/containers/containers.conf this machine needs, see /work/shared/TESTING.md) and,
// meanwhile, the npm packages (`npm ci`, when node_modules is missing or older than the
// lockfile) — then runs what `npm test` runs, and the unit and core system tests on Node 24
// (scripts/test-node24.mjs), which take the system lanes' places as those finish.
// `.ci/run` calls this same command.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
process.env.PATH = `${process.env.PATH}:/usr/sbin:/sbin`

const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
/** What the system tests need from Debian: each test's support file names its use. */
const systemPackages = [
  { name: 'nats-server', present: () => onPath('nats-server') }, // test/support/nats-server.ts
  { name: 'postgresql', present: () => existsSync('/usr/lib/postgresql/15/bin/pg_ctl') }, // test/support/postgres.ts
  { name: 'chromium', present: () => existsSync('/usr/bin/chromium') }, // test/support/chromium.ts
  { name: 'prometheus', present: () => existsSync('/usr/bin/prometheus') }, // test/support/prometheus-server.ts
  // test/integration/containers/: podman runs the reference system from its generated manifests
  { name: 'podman', present: () => onPath('podman') },
  { name: 'runc', present: () => onPath('runc') },
  {
    name: 'catatonit',
    present: () => existsSync('/usr/bin/catatonit') || existsSync('/usr/libexec/podman/catatonit'),
  },
  {
    name: 'golang-github-containernetworking-plugin-dnsname',
    present: () => existsSync('/usr/lib/cni/dnsname'),
  },
]
/**
 * crun fails on these machines ("cgroups in hybrid mode") and podman's default ulimits
 * exceed the hard limits ("setrlimit … Operation not permitted"): runc, cgroupfs and
 * lower ulimits. Written only when there is no containers.conf yet.
 */
const containersConf = `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
`

function step(title) {
  console.log(`::: ${title}`)
}

function run(cmd, args, env = {}) {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
}

// npm ci (downloads and better-sqlite3's native build) runs while apt-get installs: the
// two wait on different things. Its output goes to tmp/npm-ci.log, printed when it ends.
mkdirSync(join(root, 'tmp'), { recursive: true })
const installed = join(root, 'node_modules', '.package-lock.json')
const lock = join(root, 'package-lock.json')
const npmLog = join(root, 'tmp', 'npm-ci.log')
const needsNpm =
  !existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs || process.env.CI
const npmInstall = needsNpm
  ? new Promise((resolve) => {
      const child = spawn('sh', ['-c', `npm ci --no-audit --no-fund > "${npmLog}" 2>&1`], {
        cwd: root,
        stdio: 'ignore',
      })
      child.on('exit', (code) => resolve(code ?? 1))
    })
  : Promise.resolve(-1)

step('system packages')
const missing = systemPackages.filter((p) => !p.present()).map((p) => p.name)
if (missing.length === 0)
  console.log('nats-server, PostgreSQL 15, Chromium, Prometheus and podman are installed')
else {
  const install = `apt-get install -y --no-install-recommends ${missing.join(' ')}`
  const isRoot = process.getuid?.() === 0
  if (!isRoot || !onPath('apt-get')) {
    console.error(
      `missing: ${missing.join(', ')}. Install them, then run this again:\n  sudo apt-get update && sudo ${install}`,
    )
    process.exit(1)
  }
  console.log(`installing ${missing.join(', ')} (apt-get)`)
  run('apt-get', ['update', '-qq'], { DEBIAN_FRONTEND: 'noninteractive' })
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    DEBIAN_FRONTEND: 'noninteractive',
  })
}

if (process.getuid?.() === 0 && onPath('podman') && !existsSync('/etc/containers/containers.conf')) {
  mkdirSync('/etc/containers', { recursive: true })
  writeFileSync('/etc/containers/containers.conf', containersConf)
  console.log('wrote /etc/containers/containers.conf (runc, cgroupfs, ulimits)')
}

step('npm packages')
const npmCode = await npmInstall
if (npmCode === -1) console.log('node_modules is up to date with package-lock.json')
else {
  process.stdout.write(readFileSync(npmLog, 'utf8'))
  if (npmCode !== 0) {
    console.error(`npm ci failed (exit ${npmCode})`)
    process.exit(1)
  }
}

// Node 24 (the current LTS) is set up meanwhile: its download and the native addon's build
// (about 1.5 min of one core) overlap the type checks and unit tests on Node 20.
step('Node 24, set up in the background (output in tmp/node24-prepare.log)')
const prepareLog = join(root, 'tmp', 'node24-prepare.log')
const prepare = spawn('sh', ['-c', `node scripts/test-node24.mjs prepare > "${prepareLog}" 2>&1`], {
  cwd: root,
  stdio: 'ignore',
})
const prepared = new Promise((resolve) => prepare.on('exit', (code) => resolve(code ?? 1)))

// What `npm test` runs (check, unit lane, system lanes), with the Node 24 lanes joining the
// system lanes' pool (scripts/test-system.mjs --with-node24) instead of running after them.
const stopPrepare = (code) => {
  prepare.kill()
  process.exit(code ?? 1)
}
step('tests (Node 20): type checks, lint, layering rules')
const checked = spawnSync('npm', ['run', 'check'], { cwd: root, stdio: 'inherit' })
if (checked.status !== 0) stopPrepare(checked.status)
step('tests (Node 20): unit')
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs')
const unit = spawnSync(process.execPath, [vitest, 'run', '--project', 'unit'], {
  cwd: root,
  stdio: 'inherit',
})
if (unit.status !== 0) stopPrepare(unit.status)
if ((await prepared) !== 0) {
  console.error(`setting up Node 24 failed:\n${readFileSync(prepareLog, 'utf8')}`)
  process.exit(1)
}
step(
  'tests: the system lanes on Node 20, then the unit and core system tests on Node 24 (scripts/test-node24.mjs)',
)
const system = spawnSync(process.execPath, [join(root, 'scripts', 'test-system.mjs'), '--with-node24'], {
  cwd: root,
  stdio: 'inherit',
})
process.exit(system.status ?? 1)
