import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createSupervisor } from '../supervisor/index.ts'
import { watchUnits } from './watch-units.ts'

// The machine refuses every watcher, as when another program has used up the user's
// inotify instances: dev must say so and still see changes.
vi.mock('node:fs', async (load) => {
  const fs = await load<typeof import('node:fs')>()
  const refused = () => {
    throw Object.assign(new Error('EMFILE: too many open files, watch'), { code: 'EMFILE' })
  }
  return { ...fs, default: { ...fs, watch: refused }, watch: refused }
})

const srcIndex = fileURLToPath(new URL('../../index.ts', import.meta.url))
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-watch-poll-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('watchUnits without file watchers', () => {
  it('warns and polls the folder instead', { timeout: 30_000 }, async () => {
    await mkdir(join(dir, 'echo'))
    const entry = join(dir, 'echo', 'service.ts')
    await writeFile(
      entry,
      `import { defineService } from '${srcIndex}'\nexport default defineService({ name: 'echo', actions: () => ({}) })\n`,
    )
    await using sup = createSupervisor({
      config: {
        name: 'poll',
        stateDir: join(dir, 'state'),
        services: { echo: { entry: './echo/service.ts' } },
      },
      root: dir,
    })
    expect(await sup.up()).toEqual({ failed: [] })
    const warnings: string[] = []
    const changed: string[] = []
    const stop = watchUnits(sup, {
      debounceMs: 50,
      onWarning: (m) => warnings.push(m),
      onChange: (unit, file) => changed.push(`${unit} ${file}`),
    })
    try {
      expect(warnings).toEqual([
        `cannot watch ${join(dir, 'echo')} (EMFILE: too many open files, watch); polling it and any other such folder every second`,
      ])
      await new Promise((r) => setTimeout(r, 20)) // a later mtime than the first scan's
      await writeFile(
        entry,
        `${'// changed\n'}import { defineService } from '${srcIndex}'\nexport default defineService({ name: 'echo', actions: () => ({}) })\n`,
      )
      await vi.waitFor(() => expect(changed).toEqual([`echo ${entry}`]), { timeout: 10_000 })
    } finally {
      stop()
    }
  })
})
