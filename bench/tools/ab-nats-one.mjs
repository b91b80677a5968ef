// A/B of one NATS call in flight between two checkouts: how much CPU the client and the
// server spend per call, each process of both systems pinned to one CPU (as the bench's
// latency rounds are). For changes too small for `npm run bench` to resolve on a shared
// machine: runs alternate A, B, A, B…, each a fresh set of processes, and the medians of
// the runs are compared. Each checkout's own sources are bundled (client, the bench's
// Tessera echo peer, and the test nats-server helper), so both sides of a call are A or B.
//
// Usage: node bench/tools/ab-nats-one.mjs <checkout A> <checkout B> [pairs=5] [calls=20000]
// e.g.   git worktree add /tmp/base HEAD~1 && ln -s "$PWD/node_modules" /tmp/base/node_modules
//        node bench/tools/ab-nats-one.mjs /tmp/base .
import { execFileSync, spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { bundleTool } from './bundle-tool.mjs'

const [a, b, pairs = '5', calls = '20000'] = process.argv.slice(2)
if (!a || !b) {
  console.error('usage: node bench/tools/ab-nats-one.mjs <checkout A> <checkout B> [pairs] [calls]')
  process.exit(2)
}

// The client: a broker calling echo.ping over NATS, one call at a time.
const client = `
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createBroker } from '../../src/broker/index.ts'
import { natsTransport } from '../../src/transport/nats/index.ts'
import { startNatsServer } from '../../test/support/nats-server.ts'

const calls = Number(process.argv[2])
const nats = await startNatsServer()
const peer = spawn(process.execPath, [new URL('./peer.mjs', import.meta.url).pathname], {
  env: { ...process.env, NATS_URL: nats.url },
  stdio: ['ignore', 'pipe', 'inherit'],
})
await new Promise((r) => peer.stdout.once('data', r))
const broker = createBroker({ nodeId: 'ab-client', transport: natsTransport({ servers: nats.url, namespace: 'bench' }) })
await broker.start()
await broker.waitFor(['echo'])
const echo = broker.client('echo')
const input = { text: 'hello', n: 42 }
for (let i = 0; i < 2000; i++) await echo.ping(input)
const ticks = (pid) => {
  const f = readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].split(' ')
  return Number(f[11]) + Number(f[12])
}
const peerBefore = ticks(peer.pid)
const before = process.cpuUsage()
const start = performance.now()
for (let i = 0; i < calls; i++) await echo.ping(input)
const wall = performance.now() - start
const used = process.cpuUsage(before)
const server = ((ticks(peer.pid) - peerBefore) * 10_000) / calls
console.log(JSON.stringify({ client: (used.user + used.system) / calls, server, wall: (wall * 1000) / calls }))
await broker.stop()
peer.kill()
await nats.stop()
process.exit(0)
`

const bundle = (checkout) =>
  bundleTool(
    join(resolve(checkout), 'tmp', 'ab-nats-one'),
    client,
    join(resolve(checkout), 'bench/peers/tessera.ts'),
    'peer.mjs',
  )

const pinned = spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status === 0
const run = (file) => {
  const cmd = pinned
    ? ['taskset', ['-c', '1', process.execPath, file, calls]]
    : [process.execPath, [file, calls]]
  return JSON.parse(execFileSync(cmd[0], cmd[1], { encoding: 'utf8' }).trim().split('\n').pop())
}

const files = { A: await bundle(a), B: await bundle(b) }
const got = { A: [], B: [] }
for (let i = 0; i < Number(pairs); i++) {
  for (const k of i % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
    const r = run(files[k])
    got[k].push(r)
    console.log(
      `${k}  client ${r.client.toFixed(1)} µs  server ${r.server.toFixed(1)} µs  wall ${r.wall.toFixed(1)} µs`,
    )
  }
}
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1]
for (const k of ['A', 'B']) {
  const m = (f) => median(got[k].map((r) => r[f])).toFixed(1)
  console.log(
    `${k} medians: client ${m('client')} µs, server ${m('server')} µs, wall ${m('wall')} µs per call (${k === 'A' ? a : b})`,
  )
}
