/** The CLI's only way to the terminal: library code never writes there itself. */
export const out = {
  line(text = ''): void {
    process.stdout.write(`${text}\n`)
  },
  error(text: string): void {
    process.stderr.write(`${text}\n`)
  },
  /** Left-aligned columns, widths from the widest cell. */
  table(rows: string[][]): void {
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
    for (const row of rows)
      out.line(
        row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
  },
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-'
  return `${(bytes / 1024 / 1024).toFixed(1)}M`
}
