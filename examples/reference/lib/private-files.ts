import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs'

/**
 * Makes `path` (and missing parents) a folder only this user can enter: created 0700,
 * an existing looser one of this user tightened, one of another user or a sticky one
 * (`/tmp`) refused. The same rule as the runtime's `ensurePrivateDir` (tessera/runtime),
 * kept here so a service's bundle does not pull in the supervisor for one function.
 */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 })
  tighten(path, 0o700)
}

/**
 * Makes `path` a file only this user can read: created empty 0600 when missing, an
 * existing looser one tightened. Rejects a file of another user.
 */
export function ensurePrivateFile(path: string): void {
  closeSync(openSync(path, 'a', 0o600))
  tighten(path, 0o600)
}

/** Tightens `path` to `mode` when it exists and gives group or others access. */
export function tightenIfExists(path: string, mode: number): void {
  try {
    tighten(path, mode)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

function tighten(path: string, mode: number): void {
  const st = statSync(path)
  if ((st.mode & 0o077) === 0) return
  const mine = process.getuid === undefined || st.uid === process.getuid()
  if (!mine || (st.mode & 0o1000) !== 0)
    throw new Error(
      `${path} is open to other users (mode ${(st.mode & 0o7777).toString(8)}) and not this user's to tighten: use a private folder`,
    )
  chmodSync(path, mode)
}
