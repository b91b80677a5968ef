import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { controlToken, controlTokenPath } from './control-token.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ctl-'))
  dirs.push(d)
  return d
}

describe('controlToken', () => {
  it('makes one token and keeps it across runs, in a file only this user reads', () => {
    const dir = stateDir()
    const first = controlToken(dir, {})
    expect(first).toMatch(/^[0-9a-f]{64}$/)
    expect(controlToken(dir, {})).toBe(first)
    expect(statSync(controlTokenPath(dir)).mode & 0o777).toBe(0o600)
  })

  it('replaces what is not a token, and a deleted file means a new one', () => {
    const dir = stateDir()
    writeFileSync(controlTokenPath(dir), 'hello\n', { mode: 0o644 })
    const made = controlToken(dir, {})
    expect(made).toMatch(/^[0-9a-f]{64}$/)
    expect(statSync(controlTokenPath(dir)).mode & 0o777).toBe(0o600)
    rmSync(controlTokenPath(dir))
    expect(controlToken(dir, {})).not.toBe(made)
  })

  it('takes TESSERA_CONTROL_TOKEN when set, and refuses a short one naming the variable', () => {
    const dir = stateDir()
    const given = 'x'.repeat(40)
    expect(controlToken(dir, { TESSERA_CONTROL_TOKEN: given })).toBe(given)
    expect(() => controlToken(dir, { TESSERA_CONTROL_TOKEN: 'short' })).toThrow(
      /TESSERA_CONTROL_TOKEN must be at least 32/,
    )
  })
})
