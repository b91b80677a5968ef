import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { TesseraError } from '../../errors/index.ts'
import { ensurePrivateFile } from '../../files/index.ts'

/** Where the control API's token is kept between runs, readable by this user only. */
export const controlTokenPath = (stateDir: string) => join(stateDir, 'control-token')

const TOKEN = /^[0-9a-f]{64}$/

/**
 * The control API's bearer token. It outlives one `tessera up`, so what is configured
 * with it (a Prometheus scrape of `/metrics`, a script) keeps working across restarts:
 * made once (32 random bytes, hex) in `<stateDir>/control-token` (0600) and read from
 * there after. Deleting the file rotates it at the next `up`. `TESSERA_CONTROL_TOKEN`
 * sets it instead (at least 32 characters), e.g. from a secret store.
 */
export function controlToken(stateDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const given = env.TESSERA_CONTROL_TOKEN
  if (given !== undefined && given !== '') {
    if (given.length < 32 || /\s/.test(given)) {
      throw new TesseraError(
        'BAD_REQUEST',
        'TESSERA_CONTROL_TOKEN must be at least 32 characters, without spaces',
      )
    }
    return given
  }
  const file = controlTokenPath(stateDir)
  ensurePrivateFile(file)
  const kept = readFileSync(file, 'utf8').trim()
  if (TOKEN.test(kept)) return kept
  // Missing, empty or not one of ours: a new one.
  const token = randomBytes(32).toString('hex')
  writeFileSync(file, `${token}\n`, { mode: 0o600 })
  return token
}
