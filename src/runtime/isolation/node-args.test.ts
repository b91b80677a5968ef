import { describe, expect, it } from 'vitest'
import { nodeArgs } from './node-args.ts'

describe('nodeArgs', () => {
  it('grants an own-folder instance its folders, the transport folders and the build folder', () => {
    const args = nodeArgs({
      tsx: false,
      ownFolders: ['/srv/app/users'],
      transportDirs: ['/run/tessera/shop', '/run/tessera/shop/sub'],
      readDirs: ['/srv/app/.tessera/build'],
    })
    expect(args).toContain('--experimental-permission')
    const writes = args.filter((a) => a.startsWith('--allow-fs-write='))
    expect(writes).toEqual([
      '--allow-fs-write=/srv/app/users/*',
      '--allow-fs-write=/run/tessera/shop/*', // its subfolder is covered
      '--allow-fs-write=/tmp/*',
    ])
    const reads = args.filter((a) => a.startsWith('--allow-fs-read='))
    expect(reads).toContain('--allow-fs-read=/run/tessera/shop/*')
    expect(reads).toContain('--allow-fs-read=/srv/app/.tessera/build/*')
  })

  it('caps the heap only when asked, and adds no permission flags without own folders', () => {
    const args = nodeArgs({ tsx: false, heapMb: 64, transportDirs: ['/run/tessera/shop'] })
    expect(args).toContain('--max-old-space-size=64')
    expect(args.some((a) => a.startsWith('--allow-fs'))).toBe(false)
  })

  it('caps the young generation of built and tsx instances alike', () => {
    expect(nodeArgs({ tsx: false })).toContain('--max-semi-space-size=2')
    expect(nodeArgs({ tsx: true })).toContain('--max-semi-space-size=2')
  })
})
