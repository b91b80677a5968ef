import { afterEach, describe, expect, it } from 'vitest'
import {
  type Behaviour,
  hugeBody,
  json,
  redirectTo,
  startUpstream,
  trickle,
  type Upstream,
} from '../../test/support/hostile-upstream.ts'
import { rejection } from '../../test/support/rejection.ts'
import { boundedFetch } from './index.ts'

const MiB = 1024 * 1024
// What the kernel and Node may buffer on loopback before the client reads a byte.
const SOCKET_SLACK = 8 * MiB

describe('boundedFetch', () => {
  const servers: Upstream[] = []
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close()
  })
  const serve = async (behaviour: Behaviour) => {
    const s = await startUpstream(behaviour)
    servers.push(s)
    return s
  }
  const opts = { upstream: 'test API', maxBytes: 64 * 1024, timeoutMs: 5_000 }

  it('reads a body within the cap and parses it as JSON', async () => {
    const api = await serve(json(200, { ok: true }))
    const res = await boundedFetch(api.url, { ...opts, accept: ['application/json'] })
    expect([res.status, res.ok, res.json()]).toEqual([200, true, { ok: true }])
  })

  it('returns a 404 as a status for the caller to judge', async () => {
    const api = await serve(json(404, { error: 'no such rate' }))
    const res = await boundedFetch(api.url, { ...opts, accept: ['application/json'] })
    expect([res.status, res.json()]).toEqual([404, { error: 'no such rate' }])
  })

  it('stops reading a chunked body at the cap: the server cannot push the rest', async () => {
    const api = await serve(hugeBody({ totalBytes: 256 * MiB }))
    const err = await rejection(boundedFetch(api.url, opts))
    expect(err).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'test API sent a body larger than 65536 bytes',
      data: { upstream: 'test API', reason: 'TOO_LARGE', maxBytes: 65_536 },
    })
    await api.settled()
    expect(api.bytesSent).toBeLessThan(SOCKET_SLACK)
  })

  it('refuses a Content-Length over the cap before reading the body', async () => {
    const api = await serve(hugeBody({ totalBytes: 256 * MiB, contentLength: 300 * MiB }))
    const err = await rejection(boundedFetch(api.url, opts))
    expect(err.message).toBe('test API announced Content-Length 314572800, over the 65536-byte cap')
    await api.settled()
    expect(api.bytesSent).toBeLessThan(SOCKET_SLACK)
  })

  it('cuts a body trickled a byte at a time at the deadline', async () => {
    const api = await serve(trickle({ prefix: '{"a":"', everyMs: 10 }))
    const started = Date.now()
    const err = await rejection(boundedFetch(api.url, { ...opts, timeoutMs: 200 }))
    expect(err).toMatchObject({ code: 'TIMEOUT', message: 'test API did not answer within 200 ms' })
    expect(Date.now() - started).toBeLessThan(2_000)
    await api.settled()
  })

  it("takes the caller's deadline when it is earlier than the timeout", async () => {
    const api = await serve(trickle({ prefix: '{', everyMs: 10 }))
    const err = await rejection(boundedFetch(api.url, { ...opts, deadline: Date.now() + 150 }))
    expect(err.code).toBe('TIMEOUT')
    expect(err.data).toMatchObject({ timeoutMs: expect.any(Number) })
    expect((err.data as { timeoutMs: number }).timeoutMs).toBeLessThanOrEqual(150)
  })

  it("rejects with the caller's reason when the caller's signal aborts", async () => {
    const api = await serve(trickle({ prefix: '{', everyMs: 10 }))
    const caller = new AbortController()
    setTimeout(() => caller.abort(new Error('caller gave up')), 50)
    await expect(boundedFetch(api.url, { ...opts, signal: caller.signal })).rejects.toThrow('caller gave up')
  })

  it('does not follow a redirect: the other server sees no request', async () => {
    const other = await serve(json(200, { from: 'elsewhere' }))
    const api = await serve(redirectTo(`${other.url}/x`))
    const err = await rejection(boundedFetch(api.url, opts))
    expect(err).toMatchObject({ code: 'UNAVAILABLE', data: { reason: 'REDIRECT' } })
    expect(err.message).toBe('test API answered 302 (a redirect); redirects are not followed')
    expect(other.requests).toBe(0)
  })

  it('follows allowed redirects within the same origin, up to the count', async () => {
    const api = await serve((req, res, sent) => {
      const hop = Number(req.url?.slice(1) || 0)
      if (hop < 2) return redirectTo(`/${hop + 1}`)(req, res, sent)
      json(200, { hop })(req, res, sent)
    })
    expect((await boundedFetch(api.url, { ...opts, maxRedirects: 2 })).json()).toEqual({ hop: 2 })
    const tooMany = await rejection(boundedFetch(api.url, { ...opts, maxRedirects: 1 }))
    expect(tooMany.message).toBe('test API redirected more than 1 times')
  })

  it('refuses an allowed redirect to another origin', async () => {
    const other = await serve(json(200, {}))
    const api = await serve(redirectTo(other.url))
    const err = await rejection(boundedFetch(api.url, { ...opts, maxRedirects: 5 }))
    expect(err.message).toBe(`test API redirected to another origin (${other.url})`)
    expect(other.requests).toBe(0)
  })

  it('checks the content type of a 2xx before reading it', async () => {
    const api = await serve(json(200, { ok: true }, 'text/html; charset=utf-8'))
    const err = await rejection(boundedFetch(api.url, { ...opts, accept: ['application/json'] }))
    expect(err).toMatchObject({ code: 'UNAVAILABLE', data: { reason: 'CONTENT_TYPE' } })
    expect(err.message).toBe('test API answered content type text/html, expected application/json')
  })

  it('reports a body that is not JSON without quoting it', async () => {
    const api = await serve((_req, res) => res.writeHead(200).end('secret <html> page'))
    const res = await boundedFetch(api.url, opts)
    const err = await rejection(Promise.resolve().then(() => res.json()))
    expect(err.message).toBe('test API answered 200 with a body that is not JSON')
  })

  it('names an unreachable upstream and refuses non-http URLs', async () => {
    const gone = await serve(json(200, {}))
    await gone.close()
    expect((await rejection(boundedFetch(gone.url, opts))).message).toBe(
      'test API is unreachable (ECONNREFUSED)',
    )
    expect((await rejection(boundedFetch('data:,{}', opts))).code).toBe('BAD_REQUEST')
  })
})
