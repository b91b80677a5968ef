// `npm run bench`: every benchmark side by side with its reference points, one table.
// BENCH_MS sets the measuring time per row (default 2000 ms).
import { benchInProcess } from './in-process.ts'
import { printTable, type Row, writeJson } from './lib/report.ts'
import { benchRemote } from './remote.ts'
import { benchRuntime } from './runtime-child.ts'

const ms = Number(process.env.BENCH_MS ?? 2_000)
const only = process.env.BENCH_ONLY // 'in-process', 'remote' or 'runtime', to run one part while working on it
const rows: Row[] = []
if (only !== 'remote') rows.push(...(await benchInProcess(ms)))
if (only !== 'in-process' && only !== 'runtime') rows.push(...(await benchRemote(ms)))
if (only === undefined || only === 'runtime') rows.push(...(await benchRuntime()))
printTable(rows)
console.log(`\nwritten to ${writeJson(rows)}`)
