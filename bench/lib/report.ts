import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export interface Row {
  /** Which comparison the row belongs to, e.g. "in-process call". */
  group: string
  name: string
  value: number
  unit: string
  /**
   * Name(s) of the row(s) in the same group this one is compared with (ratio = value / baseline).
   * With several, `ratio` is against the first and every ratio is printed.
   */
  baseline?: string | string[]
  /** Lower is better (latencies): the ratio is inverted so > 1 always means "faster than". */
  lowerIsBetter?: boolean
  aim?: string
  /** Whether this run met `aim`, when the benchmark could tell. */
  met?: boolean
  /** Lowest and highest of the rounds whose median `value` is. */
  spread?: [number, number]
  /** What the value is made of (e.g. the client's and the server's share), printed after it. */
  note?: string
  /** The Node version that ran the row (`npm run bench` runs the peer parts on two Node lines). */
  node?: string
}

function baselines(row: Row): string[] {
  return row.baseline === undefined ? [] : Array.isArray(row.baseline) ? row.baseline : [row.baseline]
}

/** The ratio of `row` against `baseline` (default: its first baseline). */
export function ratioOf(rows: Row[], row: Row, baseline = baselines(row)[0]): number | undefined {
  if (!baseline) return undefined
  const base = rows.find((r) => r.group === row.group && r.name === baseline && r.node === row.node)
  if (!base) return undefined
  return row.lowerIsBetter ? base.value / row.value : row.value / base.value
}

export function printTable(rows: Row[]): void {
  const lines = rows.map((r) => {
    const ratios = baselines(r).flatMap((b) => {
      const ratio = ratioOf(rows, r, b)
      return ratio === undefined ? [] : [`${ratio.toFixed(2)}x vs ${b}`]
    })
    const aim =
      r.aim === undefined ? '' : r.met === undefined ? r.aim : `${r.aim} ${r.met ? '(met)' : '(MISSED)'}`
    const spread = r.spread ? ` (${fmt(r.spread[0])}–${fmt(r.spread[1])})` : ''
    const note = r.note ? ` [${r.note}]` : ''
    return [
      r.node ?? '',
      r.group,
      r.name,
      `${fmt(r.value)} ${r.unit}${spread}${note}`,
      ratios.join(', '),
      aim,
    ]
  })
  const header = ['node', 'group', 'name', 'value', 'ratio', 'aim']
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const show = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
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
    nodes: [...new Set(rows.map((r) => r.node ?? process.version))],
    rows: rows.map((r) => {
      const all = baselines(r)
      return {
        ...r,
        ratio: ratioOf(rows, r),
        ...(all.length > 1 ? { ratios: Object.fromEntries(all.map((b) => [b, ratioOf(rows, r, b)])) } : {}),
      }
    }),
  }
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`)
  return file
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)
}
