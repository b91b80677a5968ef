import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { catalogService, createCounter, startGateway } from './fixtures.ts'

describe('gateway static files', () => {
  let root: string
  let outside: string
  beforeAll(async () => {
    outside = await mkdtemp(join(tmpdir(), 'gateway-static-'))
    root = join(outside, 'public')
    await mkdir(root)
    await writeFile(join(root, 'index.html'), '<h1>hello</h1>')
    await writeFile(join(root, 'app.js'), 'export const x = 1')
    await writeFile(join(root, '.env'), 'SECRET=1')
    await writeFile(join(outside, 'private.txt'), 'private')
  })
  afterAll(() => rm(outside, { recursive: true, force: true }))

  it('serves files under the prefix, action routes first, and nothing outside the root', async () => {
    await using sys = await startGateway([catalogService(createCounter())], {
      static: { root, prefix: '/ui' },
    })
    const index = await fetch(`${sys.url}/ui/`)
    expect(index.status).toBe(200)
    expect(index.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await index.text()).toBe('<h1>hello</h1>')
    const js = await fetch(`${sys.url}/ui/app.js`)
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/)
    for (const path of ['/ui/.env', '/ui/..%2Fprivate.txt', '/ui/%2e%2e/private.txt', '/ui/missing.js']) {
      expect((await fetch(`${sys.url}${path}`)).status, path).toBe(404)
    }
    expect((await fetch(`${sys.url}/items/1`)).status).toBe(200)
  })
})
