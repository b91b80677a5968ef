import { readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * The discovery directory's layout. Each node owns exactly one file, named after its
 * URI-encoded nodeId:
 * - `<nodeId>.sock`: the Unix socket it listens on;
 * - `<nodeId>.json`: `{ nodeId, host, port, pid }` when it listens on TCP instead.
 * Anything else in the directory (dotfiles, temp files being renamed) is ignored.
 */
export type PeerAddress = { path: string } | { host: string; port: number }

export interface PeerFile {
  nodeId: string
  file: string
  kind: 'sock' | 'json'
}

/** Linux `sun_path` holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107

export function socketFile(dir: string, nodeId: string): string {
  return join(dir, `${encodeURIComponent(nodeId)}.sock`)
}

export function addressFile(dir: string, nodeId: string): string {
  return join(dir, `${encodeURIComponent(nodeId)}.json`)
}

/** Which node a directory entry belongs to, or undefined for anything that is not a peer file. */
export function parsePeerFile(dir: string, name: string): PeerFile | undefined {
  if (name.startsWith('.')) return undefined
  const m = /^(.+)\.(sock|json)$/.exec(name)
  if (!m) return undefined
  try {
    return { nodeId: decodeURIComponent(m[1]!), file: join(dir, name), kind: m[2] as 'sock' | 'json' }
  } catch {
    return undefined
  }
}

/** Publishes a TCP address atomically (write a dotfile, then rename) so scanners never read half a file. */
export async function writeAddressFile(
  file: string,
  nodeId: string,
  host: string,
  port: number,
): Promise<void> {
  const tmp = join(file, '..', `.${process.pid}.${Date.now()}.tmp`)
  await writeFile(tmp, JSON.stringify({ nodeId, host, port, pid: process.pid }), { mode: 0o600 })
  await rename(tmp, file)
}

/**
 * Where to dial a peer. For TCP files whose writer process no longer exists (checked by
 * pid with signal 0) the file is stale: it is removed and undefined returned.
 */
export async function resolveAddress(peer: PeerFile): Promise<PeerAddress | undefined> {
  if (peer.kind === 'sock') return { path: peer.file }
  let parsed: { host?: unknown; port?: unknown; pid?: unknown }
  try {
    parsed = JSON.parse(await readFile(peer.file, 'utf8'))
  } catch {
    return undefined
  }
  if (typeof parsed.host !== 'string' || typeof parsed.port !== 'number') return undefined
  if (typeof parsed.pid === 'number' && !processExists(parsed.pid)) {
    await removeQuietly(peer.file)
    return undefined
  }
  return { host: parsed.host, port: parsed.port }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Unlinks a file; a file that is already gone is fine. */
export async function removeQuietly(file: string): Promise<void> {
  try {
    await unlink(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}
