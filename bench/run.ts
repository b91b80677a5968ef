// `npm run bench`: every benchmark side by side with its reference points, one table.
// BENCH_MS sets the measuring time per row (default 2000 ms).
import { benchInProcess } from './in-process.ts'
import { printTable, type Row, writeJson } from './lib/report.ts'

const ms = Number(process.env.BENCH_MS ?? 2_000)
const rows: Row[] = []
rows.push(...(await benchInProcess(ms)))
printTable(rows)
console.log(`\nwritten to ${writeJson(rows)}`)
