// `npm run bench`: every benchmark side by side with its reference points, one table.
// BENCH_MS sets the measuring time per row (default 2000 ms). The parts that compare
// with Moleculer (in-process, remote, http) run twice: on this Node (20, against
// Moleculer 0.14 / moleculer-web 0.10) and on Node 24 against the current peers
// (Moleculer 0.15 / moleculer-web 0.11; lib/next-line.ts). BENCH_NODE24=0 skips the second.
import { writeFileSync } from 'node:fs'
import { benchAutoscale } from './autoscale-child.ts'
import { benchCodec } from './codec.ts'
import { benchDiscovery } from './discovery.ts'
import { benchEvents } from './events.ts'
import { benchHttp } from './http.ts'
import { benchInProcess } from './in-process.ts'
import { nextLineRows } from './lib/next-line.ts'
import { printTable, type Row, writeJson } from './lib/report.ts'
import { benchObservability } from './observability.ts'
import { benchRemote } from './remote.ts'
import { benchRuntime } from './runtime-child.ts'

const ms = Number(process.env.BENCH_MS ?? 2_000)
// 'in-process', 'remote', 'http', 'runtime', 'autoscale', 'codec', 'observability', 'discovery' or 'events', to run one part while working on it
const only = process.env.BENCH_ONLY
/** The parts run on the second Node line too. */
const PEER_PARTS = ['in-process', 'remote', 'http']
// Set by lib/next-line.ts when this process is the Node 24 line: write the rows there, print nothing.
const childOut = process.env.BENCH_CHILD_OUT
const childParts = process.env.BENCH_PARTS?.split(',')
const wants = (part: string) => (childParts ? childParts.includes(part) : only === undefined || only === part)
const rows: Row[] = []
if (wants('in-process')) rows.push(...(await benchInProcess(ms)))
if (wants('remote')) rows.push(...(await benchRemote(ms)))
if (wants('http')) rows.push(...(await benchHttp(ms)))
if (wants('runtime')) rows.push(...(await benchRuntime()))
if (wants('autoscale')) rows.push(...(await benchAutoscale()))
if (wants('codec')) rows.push(...benchCodec(ms))
if (wants('observability')) rows.push(...(await benchObservability(ms)))
if (wants('discovery')) rows.push(...(await benchDiscovery()))
if (wants('events')) rows.push(...(await benchEvents(ms)))
for (const row of rows) row.node ??= process.version
if (childOut) {
  writeFileSync(childOut, JSON.stringify(rows))
} else {
  const again = PEER_PARTS.filter(wants)
  if (process.env.BENCH_NODE24 !== '0' && again.length > 0) rows.push(...(await nextLineRows(again)))
  const table = byGroup(rows)
  printTable(table)
  console.log(`\nwritten to ${writeJson(table)}`)
}

/** Each group's rows together, Node line by Node line, so the two lines read side by side. */
function byGroup(all: Row[]): Row[] {
  const groups = [...new Set(all.map((r) => r.group))]
  const nodes = [...new Set(all.map((r) => r.node))]
  return groups.flatMap((g) => nodes.flatMap((n) => all.filter((r) => r.group === g && r.node === n)))
}
