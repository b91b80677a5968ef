/**
 * What a local attacker could read: walks a tree and lists every entry that gives
 * group or others any access (a folder not 0700, a file or socket not 0600 or tighter).
 */
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** `path mode` of each entry under `root` (and `root` itself) open to group or others; [] when none. */
export async function openToOthers(root: string): Promise<string[]> {
  const found: string[] = []
  const walk = async (path: string): Promise<void> => {
    const st = await lstat(path).catch(() => undefined)
    if (!st || st.isSymbolicLink()) return // a file gone mid-walk (a rotated log); links are not ours
    if ((st.mode & 0o077) !== 0) found.push(`${path} ${(st.mode & 0o777).toString(8)}`)
    if (st.isDirectory()) for (const name of await readdir(path).catch(() => [])) await walk(join(path, name))
  }
  await walk(root)
  return found
}

/** Runs `fn` with the process umask set to `mask` (0o022: everything readable by all), then restores it. */
export async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask)
  try {
    return await fn()
  } finally {
    process.umask(previous)
  }
}
