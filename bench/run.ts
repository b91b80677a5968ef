// `npm run bench`: every benchmark side by side with its reference points, one table.
// BENCH_MS sets the measuring time per row (default 2000 ms).
import { benchAutoscale } from './autoscale-child.ts'
import { benchCodec } from './codec.ts'
import { benchDiscovery } from './discovery.ts'
import { benchEvents } from './events.ts'
import { benchHttp } from './http.ts'
import { benchInProcess } from './in-process.ts'
import { printTable, type Row, writeJson } from './lib/report.ts'
import { benchObservability } from './observability.ts'
import { benchRemote } from './remote.ts'
import { benchRuntime } from './runtime-child.ts'

const ms = Number(process.env.BENCH_MS ?? 2_000)
// 'in-process', 'remote', 'http', 'runtime', 'autoscale', 'codec', 'observability', 'discovery' or 'events', to run one part while working on it
const only = process.env.BENCH_ONLY
const wants = (part: string) => only === undefined || only === part
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
printTable(rows)
console.log(`\nwritten to ${writeJson(rows)}`)
