import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs'

/** Mode of every folder Tessera creates: this user only, whatever the umask. */
export const PRIVATE_DIR_MODE = 0o700
/** Mode of every file Tessera creates (logs, builds, control.json, sockets, databases). */
export const PRIVATE_FILE_MODE = 0o600

/**
 * Makes `path` (and any missing parents) a folder only this user can enter: created
 * 0700, and an existing one that gives group or others access is tightened to 0700. A
 * folder that is not this user's, or is sticky (a shared `/tmp`), is refused rather than
 * chmod-ed: it was not made for this system, and tightening it would break whoever else
 * uses it.
 *
 * @example
 * ensurePrivateDir(join(stateDir, 'logs'))
 */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE })
  tighten(path, PRIVATE_DIR_MODE)
}

/**
 * Makes `path` a file only this user can read: created empty 0600 when missing, an
 * existing looser one tightened. Throws for a file of another user.
 */
export function ensurePrivateFile(path: string): void {
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE))
  tighten(path, PRIVATE_FILE_MODE)
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
