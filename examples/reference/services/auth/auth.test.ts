import { defineService, subscribe } from 'tessera/contract'
import { fakeService, startTestSystem } from 'tessera/testkit'
import { describe, expect, it } from 'vitest'
import { principalOf, rejectionOf, TEST_KEYS, type TempSqlite, tempSqlite } from '../../test/helpers.ts'
import type { UsersService } from '../users/service.ts'
import { type AuthService, createAuthService } from './service.ts'

/** A users fake that records creates, and a listener that records `user.registered`. */
function harness(temp: TempSqlite) {
  const created: string[] = []
  const registered: string[] = []
  const users = fakeService<UsersService>(
    'users',
    {
      create: (p) => {
        created.push(p.id)
        return { ...p, createdAt: new Date().toISOString() }
      },
    },
    { idempotent: ['create'] },
  )
  const listener = defineService({
    name: 'listener',
    actions: () => ({}),
    on: subscribe<AuthService>({ 'user.registered': (u) => void registered.push(u.email) }),
  })
  const auth = createAuthService({ database: temp.configFor('auth'), privateKey: TEST_KEYS.privateKey })
  return { created, registered, services: [auth, users, listener] }
}

const ada = { email: 'ada@example.com', password: 'correct horse battery', name: 'Ada' }

describe('auth', () => {
  it('registers: creates the profile, announces user.registered, returns tokens with sub, roles, jti, exp', async () => {
    using temp = tempSqlite()
    const h = harness(temp)
    await using system = await startTestSystem({ services: h.services })
    const tokens = await system.client<AuthService>('auth').register(ada)
    expect(h.created).toEqual([tokens.userId])
    const principal = await principalOf(tokens.accessToken)
    expect(principal.id).toBe(tokens.userId)
    expect(principal.roles).toEqual(['user'])
    expect(principal.claims).toMatchObject({ jti: expect.any(String), exp: expect.any(Number) })
    await expect.poll(() => h.registered).toEqual(['ada@example.com'])
  })

  it('refuses a second account for the same email (any case) as CONFLICT', async () => {
    using temp = tempSqlite()
    await using system = await startTestSystem({ services: harness(temp).services })
    const auth = system.client<AuthService>('auth')
    await auth.register(ada)
    expect((await rejectionOf(auth.register({ ...ada, email: 'ADA@example.com' }))).code).toBe('CONFLICT')
  })

  it('logs in with the right password; a wrong password or unknown email is UNAUTHORIZED', async () => {
    using temp = tempSqlite()
    await using system = await startTestSystem({ services: harness(temp).services })
    const auth = system.client<AuthService>('auth')
    const { userId } = await auth.register(ada)
    expect((await auth.login({ email: ada.email, password: ada.password })).userId).toBe(userId)
    const wrong = await rejectionOf(auth.login({ email: ada.email, password: 'wrong password' }))
    expect(wrong.code).toBe('UNAUTHORIZED')
    const unknown = await rejectionOf(auth.login({ email: 'eve@example.com', password: ada.password }))
    expect(unknown).toMatchObject({ code: 'UNAUTHORIZED', message: wrong.message })
  })

  it('rejects a short password as VALIDATION naming the field', async () => {
    using temp = tempSqlite()
    await using system = await startTestSystem({ services: harness(temp).services })
    const err = await rejectionOf(system.client<AuthService>('auth').register({ ...ada, password: 'short' }))
    expect(err.code).toBe('VALIDATION')
    expect(err.data.errors.map((e: { path: string }) => e.path)).toContain('/password')
  })

  it('rotates refresh tokens; replaying a spent one revokes the whole session', async () => {
    using temp = tempSqlite()
    await using system = await startTestSystem({ services: harness(temp).services })
    const auth = system.client<AuthService>('auth')
    const first = await auth.register(ada)
    const second = await auth.refresh({ refreshToken: first.refreshToken })
    expect(second.refreshToken).not.toBe(first.refreshToken)
    expect((await principalOf(second.accessToken)).id).toBe(first.userId)
    expect((await rejectionOf(auth.refresh({ refreshToken: first.refreshToken }))).code).toBe('UNAUTHORIZED')
    // The replay revoked the family: the token rotated in good faith is dead too.
    expect((await rejectionOf(auth.refresh({ refreshToken: second.refreshToken }))).code).toBe('UNAUTHORIZED')
  })

  it('logout revokes the access token (isRevoked says so) and the refresh token', async () => {
    using temp = tempSqlite()
    await using system = await startTestSystem({ services: harness(temp).services })
    const auth = system.client<AuthService>('auth')
    const tokens = await auth.register(ada)
    const principal = await principalOf(tokens.accessToken)
    const jti = principal.claims!.jti as string
    expect(await auth.isRevoked({ jti })).toEqual({ revoked: false })
    await auth.logout({ refreshToken: tokens.refreshToken }, { principal })
    expect(await auth.isRevoked({ jti })).toEqual({ revoked: true })
    expect((await rejectionOf(auth.refresh({ refreshToken: tokens.refreshToken }))).code).toBe('UNAUTHORIZED')
    expect((await rejectionOf(auth.logout({}))).code).toBe('UNAUTHORIZED')
  })

  it('leaves no usable account when users is down, and a retry completes the same account', async () => {
    using temp = tempSqlite()
    const h = harness(temp)
    await using system = await startTestSystem({ services: h.services })
    const auth = system.client<AuthService>('auth')
    const credentials = { email: ada.email, password: ada.password }
    system.inject('users.create', { kind: 'error', code: 'UNAVAILABLE' })
    expect((await rejectionOf(auth.register(ada))).code).toBe('UNAVAILABLE')
    expect((await rejectionOf(auth.login(credentials))).code).toBe('UNAUTHORIZED')
    system.clearFaults()
    const tokens = await auth.register(ada)
    expect(h.created).toEqual([tokens.userId])
    expect((await auth.login(credentials)).userId).toBe(tokens.userId)
  })

  it('gives the admin role to configured admin emails', async () => {
    using temp = tempSqlite()
    const services = harness(temp).services
    services[0] = createAuthService({
      database: temp.configFor('auth'),
      privateKey: TEST_KEYS.privateKey,
      adminEmails: [ada.email],
    })
    await using system = await startTestSystem({ services })
    const tokens = await system.client<AuthService>('auth').register(ada)
    expect((await principalOf(tokens.accessToken)).roles).toEqual(['user', 'admin'])
  })
})
