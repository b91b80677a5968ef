import { spawn } from 'node:child_process'
import type { Row } from './lib/report.ts'

/**
 * Runs bench/autoscale.ts under tsx in a child process (the supervisor spawns TypeScript
 * service entries, which the bundled benchmark cannot resolve) and returns its rows.
 */
export async function benchAutoscale(): Promise<Row[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/autoscale.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`autoscale benchmark exited with ${code}`)
  return JSON.parse(out.trim().split('\n').pop() ?? '[]') as Row[]
}
