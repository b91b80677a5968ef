/**
 * Roles and login throttling over HTTP against the system as `npm start` runs it (issue 9,
 * findings 2 and 6): what an attacker tried, through the real gateway. Requests come from
 * several loopback addresses (127.0.0.0/8), so per-IP and per-account limits can be told apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAdminCommand } from '../../admin.ts'
import { type E2eSystem, http, register, startE2e } from './harness.ts'

describe('accounts over HTTP: roles and login throttling', () => {
  let starting: Promise<E2eSystem> | undefined
  let system: E2eSystem | undefined
  const url = () => {
    if (!system) throw new Error('the system did not start')
    return system.url
  }
  beforeAll(async () => {
    // The variable that used to make whoever registered that email first an admin.
    starting = startE2e({ env: { TESSERA_ADMIN_EMAILS: 'boss@example.com' } })
    system = await starting
  }, 60_000)
  afterAll(async () => {
    await (await starting?.catch(() => undefined))?.close()
  }, 30_000)

  const password = 'correct horse battery staple'
  const login = (email: string, pass: string, from: string) =>
    http(url(), 'POST', '/auth/login', { body: { email, password: pass }, from })

  it('gives no role for registering Boss@Example.com; the admin script and then an admin do', async () => {
    const grace = await register(url(), 'Grace')
    const eve = await register(url(), 'Eve')
    const boss = await http(url(), 'POST', '/auth/register', {
      body: { email: 'Boss@Example.com', password, name: 'Boss' },
    })
    expect(boss.status).toBe(200)
    const graceProfile = `/users/${grace.userId}`
    expect((await http(url(), 'GET', graceProfile, { token: boss.body.accessToken })).status).toBe(403)
    // The same address in another case is the same account, not a second one.
    const again = await http(url(), 'POST', '/auth/register', {
      body: { email: 'boss@EXAMPLE.com', password, name: 'Boss 2' },
    })
    expect(again.status).toBe(409)

    // Nobody but an admin may grant a role: refused, and nothing changed.
    const grant = (userId: string, token: string) =>
      http(url(), 'POST', `/auth/users/${userId}/roles`, { token, body: { role: 'admin' } })
    expect((await grant(eve.userId, eve.accessToken)).status).toBe(403)
    const eveAgain = await login(eve.email, eve.password, '127.0.0.2')
    expect((await http(url(), 'GET', graceProfile, { token: eveAgain.body.accessToken })).status).toBe(403)

    // The operator makes the first admin in auth's database; it holds from the next login.
    const said: string[] = []
    expect(
      await runAdminCommand(['boss@example.com'], { TESSERA_DATA_DIR: system!.ref.dataDir }, (l) =>
        said.push(l),
      ),
    ).toBe(0)
    const asBoss = await login('BOSS@example.com', password, '127.0.0.2')
    expect(asBoss.status).toBe(200)
    expect((await http(url(), 'GET', graceProfile, { token: asBoss.body.accessToken })).status).toBe(200)
    // And that admin may grant the role over the API.
    const granted = await grant(eve.userId, asBoss.body.accessToken)
    expect(granted).toMatchObject({ status: 200, body: { roles: ['user', 'admin'] } })
  })

  it('answers the right password with 429 and Retry-After after 40 wrong ones, whatever address they came from', async () => {
    const ada = await register(url(), 'Ada')
    const statuses: number[] = []
    for (let i = 0; i < 40; i++) {
      // Each from another address: the per-IP limit never applies, the per-account one does.
      statuses.push((await login(ada.email, `wrong password ${i}`, `127.0.1.${i + 1}`)).status)
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
    expect(statuses[5]).toBe(429)
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(30)
    const right = await login(ada.email, ada.password, '127.0.1.200')
    expect(right.status).toBe(429)
    expect(right.body.error.code).toBe('RATE_LIMITED')
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(right.body.accessToken).toBeUndefined()
  })

  it('limits logins from one address to 10 a minute, while it is served elsewhere and others still log in', async () => {
    const grace = await register(url(), 'Grace')
    const from = '127.0.2.1'
    const statuses: number[] = []
    // Different (unknown) accounts: only the per-IP limit can refuse these.
    for (let i = 0; i < 11; i++)
      statuses.push((await login(`nobody-${i}@example.com`, password, from)).status)
    expect(statuses).toEqual([...Array(10).fill(401), 429])
    const limited = await login(grace.email, grace.password, from)
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await http(url(), 'GET', '/products', { from })).status).toBe(200)
    expect((await login(grace.email, grace.password, '127.0.2.2')).status).toBe(200)
  })
})
