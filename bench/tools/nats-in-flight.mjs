// Where the CPU of NATS calls goes at many in flight: CPU per call of the client, the echo
// peer and the nats-server, each read from /proc, for Tessera or for raw nats.js
// request/reply (the limit) on this checkout. `npm run bench` reports the sum; this splits
// it, to see which process a change moved. docs/performance.md ("Where 64 in flight goes").
//
// Usage: node bench/tools/nats-in-flight.mjs [tessera|raw] [in flight=64] [calls per round=100000]
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleTool } from './bundle-tool.mjs'

const [which = 'tessera', inFlight = '64', calls = '100000'] = process.argv.slice(2)
if (which !== 'tessera' && which !== 'raw') {
  console.error('usage: node bench/tools/nats-in-flight.mjs [tessera|raw] [in flight] [calls per round]')
  process.exit(2)
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const dir = join(root, 'tmp', 'nats-in-flight')

const client = `
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createBroker } from '../../src/broker/index.ts'
import { natsTransport } from '../../src/transport/nats/index.ts'
import { startNatsServer } from '../../test/support/nats-server.ts'
import { rawNatsClient } from '../../bench/lib/raw-nats-client.ts'

const [which, inFlight, calls] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])]
const nats = await startNatsServer()
const subject = 'raw.echo.' + process.pid
const peer = spawn(process.execPath, [new URL('./' + which + '-peer.mjs', import.meta.url).pathname], {
  env: { ...process.env, NATS_URL: nats.url, RAW_SUBJECT: subject },
  stdio: ['ignore', 'pipe', 'inherit'],
})
await new Promise((r) => peer.stdout.once('data', r))
const input = { text: 'hello', n: 42 }
let call, stop
if (which === 'raw') {
  const c = await rawNatsClient(nats.url, subject)
  call = () => c.call(input)
  stop = async () => c.close()
} else {
  const broker = createBroker({ nodeId: 'in-flight-client', transport: natsTransport({ servers: nats.url, namespace: 'bench' }) })
  await broker.start()
  await broker.waitFor(['echo'])
  const echo = broker.client('echo')
  call = () => echo.ping(input)
  stop = () => broker.stop()
}
const ticks = (pid) => {
  const f = readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].split(' ')
  return Number(f[11]) + Number(f[12])
}
const run = async (n) => {
  let left = n
  const worker = async () => {
    while (left-- > 0) await call()
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
}
await run(20_000)
for (let round = 1; round <= 3; round++) {
  const p0 = ticks(peer.pid), s0 = ticks(nats.pid), c0 = process.cpuUsage(), t0 = performance.now()
  await run(calls)
  const used = process.cpuUsage(c0), wall = performance.now() - t0
  const us = { client: (used.user + used.system) / calls, peer: ((ticks(peer.pid) - p0) * 10_000) / calls, natsServer: ((ticks(nats.pid) - s0) * 10_000) / calls }
  const total = us.client + us.peer + us.natsServer
  console.log(which + ' round ' + round + ': client ' + us.client.toFixed(1) + ', peer ' + us.peer.toFixed(1) + ', nats-server ' + us.natsServer.toFixed(1) + ', total ' + total.toFixed(1) + ' µs per call; ' + Math.round(calls / (wall / 1000)) + ' calls/s')
}
await stop()
peer.kill()
await nats.stop()
process.exit(0)
`

const peerSource = which === 'raw' ? 'raw-nats.ts' : 'tessera.ts'
const clientFile = await bundleTool(
  dir,
  client,
  join(root, 'bench', 'peers', peerSource),
  `${which}-peer.mjs`,
)
const r = spawnSync(process.execPath, [clientFile, which, inFlight, calls], { stdio: 'inherit' })
process.exit(r.status ?? 1)
