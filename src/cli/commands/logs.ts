import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { out } from '../output.ts'
import { type StateOptions, stateDirOf } from '../state.ts'

/**
 * `tessera logs <unit> [-f]`: prints `<stateDir>/logs/<unit>.log`; with `-f` keeps
 * printing what is appended, and starts over from the top when the file was rotated
 * (it got shorter). Works whether or not the system is running.
 */
export async function logs(unit: string, options: StateOptions & { follow?: boolean }): Promise<void> {
  const file = join(await stateDirOf(options), 'logs', `${unit}.log`)
  let offset = 0
  const pump = async () => {
    const size = await stat(file).then(
      (s) => s.size,
      () => 0,
    )
    if (size < offset) offset = 0
    if (size === offset) return
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(file, { start: offset, end: size - 1 })
      stream.on('data', (chunk) => out.raw(chunk))
      stream.on('end', resolve)
      stream.on('error', reject)
    })
    offset = size
  }
  await pump()
  if (!options.follow) {
    if (offset === 0) out.error(`no logs for ${unit} yet (${file})`)
    return
  }
  for (;;) {
    await new Promise((r) => setTimeout(r, 200))
    await pump()
  }
}
