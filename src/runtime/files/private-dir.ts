import { chmodSync, mkdirSync, statSync } from 'node:fs'

/** Mode of every folder the runtime creates: this user only, whatever the umask. */
export const PRIVATE_DIR_MODE = 0o700
/** Mode of every file the runtime creates (logs, builds, control.json). */
export const PRIVATE_FILE_MODE = 0o600

/**
 * Makes `path` (and any missing parents) a folder only this user can enter: created
 * 0700, and an existing one that gives group or others access is tightened to 0700 —
 * the runtime's folders hold logs, builds and the control token. A folder that is not
 * this user's, or is sticky (a shared `/tmp`), is refused rather than chmod-ed: it was
 * not made for this system, and tightening it would break whoever else uses it.
 *
 * @example
 * ensurePrivateDir(join(stateDir, 'logs'))
 */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE })
  const st = statSync(path)
  if ((st.mode & 0o077) === 0) return
  const mine = process.getuid === undefined || st.uid === process.getuid()
  if (!mine || (st.mode & 0o1000) !== 0)
    throw new Error(
      `${path} is open to other users (mode ${(st.mode & 0o7777).toString(8)}) and not a folder this system owns: use a private folder`,
    )
  chmodSync(path, PRIVATE_DIR_MODE)
}
