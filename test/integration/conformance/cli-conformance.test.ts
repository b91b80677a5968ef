import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { fixtureCommand } from './fixture-command.ts'

const bin = fileURLToPath(new URL('../../../bin/tessera.mjs', import.meta.url))

function tessera(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c))
    child.stderr.on('data', (c: Buffer) => (stderr += c))
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('tessera conformance (the command)', () => {
  it('prints one line per rule with its section and exits 1 when a rule fails', async () => {
    const { code, stdout } = await tessera([
      'conformance',
      '--transport',
      'socket',
      '--',
      ...fixtureCommand('tessera-node.ts', '--break', 'bye-on-duplicate'),
    ])
    expect(stdout).toMatch(/^FAIL §4\.4 +duplicate-ends-with-fin — the replaced connection got BYE/m)
    expect(stdout).toMatch(/^PASS §4\.1 +hello-first$/m)
    expect(stdout).toMatch(/^23 passed, 3 failed \(socket\)$/m)
    expect(code).toBe(1)
  }, 90_000)

  it('refuses an unknown transport with a clear message', async () => {
    const { code, stderr } = await tessera(['conformance', '--transport', 'carrier-pigeon', '--', 'true'])
    expect(stderr).toMatch(/--transport must be socket or nats, got carrier-pigeon/)
    expect(code).toBe(1)
  }, 30_000)
})
