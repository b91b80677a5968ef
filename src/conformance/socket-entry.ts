import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { NodeProcess } from './node-process.ts'
import type { Address } from './raw-connection.ts'

/** How long the node under test may take to start and publish its entry. */
const START_MS = 15_000

export interface Entry {
  ok: boolean
  detail: string
  address?: Address
}

/** Waits for `<encodeURIComponent(nodeId)>.sock|.json` in `dir`; names what is there instead. */
export async function waitForEntry(dir: string, nodeId: string, node: NodeProcess): Promise<Entry> {
  const name = encodeURIComponent(nodeId)
  const deadline = Date.now() + START_MS
  let exit: string | undefined
  void node.exited.then((e) => (exit = e))
  while (Date.now() < deadline && exit === undefined) {
    const names = (await readdir(dir)).filter((n) => !n.startsWith('.'))
    if (names.includes(`${name}.sock`))
      return { ok: true, detail: `${name}.sock`, address: { path: join(dir, `${name}.sock`) } }
    if (names.includes(`${name}.json`)) {
      const parsed = JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as {
        host: string
        port: number
      }
      return { ok: true, detail: `${name}.json`, address: { host: parsed.host, port: parsed.port } }
    }
    const other = names.find((n) => !n.startsWith('conformance-'))
    if (other)
      return { ok: false, detail: `the entry is named ${other}, expected ${name}.sock or ${name}.json` }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    ok: false,
    detail: `no entry ${name}.sock/.json within ${START_MS} ms${exit ? ` (the node exited: ${exit}; output: ${node.output().slice(-500)})` : ''}`,
  }
}
