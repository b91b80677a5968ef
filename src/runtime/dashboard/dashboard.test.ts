import { request } from 'node:http'
import { describe, expect, it } from 'vitest'
import { startControlServer } from '../control/index.ts'
import type { Supervisor, SystemStatus } from '../supervisor/index.ts'

const gateway = {
  name: 'gateway',
  services: [],
  adapters: ['gateway'],
  instances: [{ label: 'gateway#1', nodeId: 'gw-1' }],
}
const status = { system: 'shop', transport: 'socket', units: [gateway] } as unknown as SystemStatus
/** Just what the control server and the dashboard read of a supervisor. */
const supervisor = {
  config: {
    name: 'shop',
    services: { users: { entry: './users.ts' }, gateway: { entry: './gw.ts', dependsOn: ['users'] } },
  },
  stateDir: '/state/of/shop',
  status: () => status,
  caller: {
    registry: {
      // The control server also watches joins (contract-watch.ts): nothing joins here.
      subscribe: () => () => {},
      node: () => undefined,
      nodes: () => [
        {
          nodeId: 'users-1',
          seq: 1,
          meta: { pid: 42, host: 'box-1' },
          services: [
            {
              name: 'users',
              version: '1.2.0',
              actions: { get: { idempotent: true, input: { type: 'object' } } },
              subscriptions: { 'order.placed': 'balanced' },
            },
          ],
        },
        {
          nodeId: 'gw-1',
          seq: 1,
          services: [
            { name: 'gateway-events', version: '0.0.0', actions: {}, subscriptions: { 'x.y': 'broadcast' } },
          ],
        },
      ],
    },
  },
} as unknown as Supervisor

const TOKEN = 'a'.repeat(64)

async function server() {
  const control = await startControlServer({ supervisor, token: TOKEN })
  const base = `http://127.0.0.1:${control.port}`
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { headers, redirect: 'manual' })
  const login = (token: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      redirect: 'manual',
    })
  /** Logs in and returns the cookie header and the session's CSRF token. */
  const session = async () => {
    const res = await login(TOKEN)
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!
    const info = (await (await get('/dashboard/session', { cookie })).json()) as { csrf: string }
    return { cookie, csrf: info.csrf }
  }
  return Object.assign(control, { base, get, login, session })
}

describe('the dashboard on the control server', () => {
  it('sends a browser without a session to the login page, and API calls get 401', async () => {
    await using s = await server()
    const page = await s.get('/')
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toBe('/login')
    const form = await s.get('/login')
    expect(form.status).toBe(200)
    const html = await form.text()
    expect(html).toContain('<form method="post" action="/login"')
    expect(html).toContain('/state/of/shop/control.json')
    expect(html).not.toContain(TOKEN)
    expect(form.headers.get('content-security-policy')).toContain("script-src 'self'")
    for (const path of ['/status', '/catalog', '/dashboard/session'])
      expect((await s.get(path)).status, path).toBe(401)
  })

  it('logs in with the token into an HttpOnly SameSite=Strict cookie that the API then accepts', async () => {
    await using s = await server()
    const res = await s.login(TOKEN)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/')
    const setCookie = res.headers.get('set-cookie')!
    expect(setCookie).toMatch(new RegExp(`^tessera-dashboard-${s.port}=[A-Za-z0-9_-]{43};`))
    expect(setCookie).toContain('HttpOnly; SameSite=Strict; Path=/; Max-Age=')
    expect(setCookie).not.toContain(TOKEN)
    const cookie = setCookie.split(';')[0]!
    expect((await s.get('/', { cookie })).status).toBe(200)
    expect(await (await s.get('/status', { cookie })).json()).toEqual(status)
    const catalog = (await (await s.get('/catalog', { cookie })).json()) as any
    expect(catalog.services[1]).toMatchObject({
      name: 'users',
      versions: ['1.2.0'],
      actions: { get: { input: { type: 'object' } } },
      subscriptions: { 'order.placed': 'balanced' },
    })
    expect(catalog.hosts).toEqual({ 'users-1': 'box-1' })
    // A service the gateway's code adds at run time belongs to the unit announcing it.
    expect(catalog.services[0]).toMatchObject({ name: 'gateway-events', unit: 'gateway' })
    expect(catalog.adapters).toEqual([{ name: 'gateway', dependsOn: ['users'] }])
    // The CLI's bearer token still works, without any cookie.
    expect((await s.get('/status', { authorization: `Bearer ${TOKEN}` })).status).toBe(200)
  })

  it('refuses a wrong token, then every attempt for a while after five wrong ones', async () => {
    await using s = await server()
    const wrong = await s.login('b'.repeat(64))
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('set-cookie')).toBeNull()
    expect(await wrong.text()).toContain('That is not the control token.')
    for (let i = 0; i < 4; i++) expect((await s.login(`guess-${i}`)).status).toBe(401)
    const limited = await s.login(TOKEN)
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(limited.headers.get('set-cookie')).toBeNull()
    // The CLI is not limited.
    expect((await s.get('/status', { authorization: `Bearer ${TOKEN}` })).status).toBe(200)
  })

  it('accepts a POST with the session only together with its CSRF header', async () => {
    await using s = await server()
    const { cookie, csrf } = await s.session()
    const post = (headers: Record<string, string>) =>
      fetch(`${s.base}/scale`, { method: 'POST', body: '{', headers })
    expect((await post({ cookie })).status).toBe(401)
    expect((await post({ cookie, 'x-csrf-token': 'x'.repeat(csrf.length) })).status).toBe(401)
    // Past the check: the broken body is what it complains about.
    expect((await post({ cookie, 'x-csrf-token': csrf })).status).toBe(400)
  })

  it('ignores the session cookie from another origin or host name', async () => {
    await using s = await server()
    const { cookie, csrf } = await s.session()
    // fetch may not set Host: a DNS-rebound page's requests carry the attacker's name.
    expect(await statusWithHost(s.port, '/status', { cookie, host: 'evil.example' })).toBe(401)
    expect(await statusWithHost(s.port, '/status', { cookie, host: `localhost:${s.port}` })).toBe(200)
    const cross = await fetch(`${s.base}/scale`, {
      method: 'POST',
      body: '{}',
      headers: { cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' },
    })
    expect(cross.status).toBe(401)
    expect((await s.login(TOKEN, { origin: 'http://evil.example' })).status).toBe(403)
  })

  it('logs out: the cookie no longer opens anything', async () => {
    await using s = await server()
    const { cookie, csrf } = await s.session()
    const out = await fetch(`${s.base}/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })
    expect(out.status).toBe(204)
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0')
    expect((await s.get('/status', { cookie })).status).toBe(401)
    expect((await s.get('/', { cookie })).headers.get('location')).toBe('/login')
  })

  it('serves its scripts and styles but not the login template or anything outside its folder', async () => {
    await using s = await server()
    expect((await s.get('/dashboard/style.css')).headers.get('content-type')).toContain('text/css')
    expect((await s.get('/dashboard/login.html')).status).toBe(404)
    expect((await s.get('/dashboard/..%2Fdashboard.ts')).status).toBe(404)
  })
})

function statusWithHost(port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}
