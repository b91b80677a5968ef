/** The CLI's only way to the terminal: library code never writes there itself. */
let stdoutClosed = false
let onStdoutClosed: () => void = () => process.exit(0)

/** `text` with exactly one newline at its end, so messages never run into each other. */
export function asLine(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`
}

export const out = {
  line(text = ''): void {
    if (!stdoutClosed) process.stdout.write(asLine(text))
  },
  error(text: string): void {
    process.stderr.write(asLine(text))
  },
  /** Bytes as they are (`tessera logs`). */
  raw(chunk: string | Uint8Array): void {
    if (!stdoutClosed) process.stdout.write(chunk)
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

/**
 * Makes a reader that stops early (`tessera status | head -3`) end the CLI quietly: the
 * EPIPE on stdout stops all further output and runs `onClosed` (default: exit 0; `up`
 * drains first). Any other stdout error stays fatal.
 */
export function handleClosedStdout(stream: NodeJS.EventEmitter = process.stdout): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
    if (stdoutClosed) return
    stdoutClosed = true
    onStdoutClosed()
  })
}

/** What to do once stdout's reader went away (see `handleClosedStdout`). */
export function whenStdoutCloses(action: () => void): void {
  onStdoutClosed = action
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-'
  return `${(bytes / 1024 / 1024).toFixed(1)}M`
}
