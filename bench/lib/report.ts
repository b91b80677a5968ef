import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export interface Row {
  /** Which comparison the row belongs to, e.g. "in-process call". */
  group: string
  name: string
  value: number
  unit: string
  /** Name of the row in the same group this one is compared with (ratio = value / baseline). */
  baseline?: string
  /** Lower is better (latencies): the ratio is inverted so > 1 always means "faster than". */
  lowerIsBetter?: boolean
  aim?: string
}

export function ratioOf(rows: Row[], row: Row): number | undefined {
  if (!row.baseline) return undefined
  const base = rows.find((r) => r.group === row.group && r.name === row.baseline)
  if (!base) return undefined
  return row.lowerIsBetter ? base.value / row.value : row.value / base.value
}

export function printTable(rows: Row[]): void {
  const lines = rows.map((r) => {
    const ratio = ratioOf(rows, r)
    return [
      r.group,
      r.name,
      `${fmt(r.value)} ${r.unit}`,
      ratio === undefined ? '' : `${ratio.toFixed(2)}x vs ${r.baseline}`,
      r.aim ?? '',
    ]
  })
  const header = ['group', 'name', 'value', 'ratio', 'aim']
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const show = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')
  console.log(show(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const l of lines) console.log(show(l))
}

export function writeJson(rows: Row[]): string {
  // npm runs scripts from the package root; the benchmarks run from a bundle elsewhere.
  const file = join(process.cwd(), 'bench', 'results', 'latest.json')
  mkdirSync(dirname(file), { recursive: true })
  const out = {
    at: new Date().toISOString(),
    node: process.version,
    rows: rows.map((r) => ({ ...r, ratio: ratioOf(rows, r) })),
  }
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`)
  return file
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)
}
