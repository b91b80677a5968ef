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

  it('grants nothing for the email a stranger registers, whatever TESSERA_ADMIN_EMAILS says (issue 9, finding 2)', async () => {
    using temp = tempSqlite()
    const before = process.env.TESSERA_ADMIN_EMAILS
    process.env.TESSERA_ADMIN_EMAILS = 'boss@example.com'
    try {
      await using system = await startTestSystem({ services: harness(temp).services })
      const tokens = await system.client<AuthService>('auth').register({ ...ada, email: 'Boss@Example.com' })
      expect((await principalOf(tokens.accessToken)).roles).toEqual(['user'])
    } finally {
      if (before === undefined) delete process.env.TESSERA_ADMIN_EMAILS
      else process.env.TESSERA_ADMIN_EMAILS = before
    }
  })

  it('treats emails that differ in case or Unicode form (NFKC) as one account', async () => {
    using temp = tempSqlite()
    const h = harness(temp)
    await using system = await startTestSystem({ services: h.services })
    const auth = system.client<AuthService>('auth')
    const { userId } = await auth.register({ ...ada, email: 'Boss@Example.com' })
    // U+FF22 FULLWIDTH LATIN CAPITAL B folds (NFKC, then lowercase) to a plain b.
    for (const email of ['boss@example.com', 'BOSS@EXAMPLE.COM', '\uFF22oss@example.com']) {
      expect((await rejectionOf(auth.register({ ...ada, email }))).code, email).toBe('CONFLICT')
      expect((await auth.login({ email, password: ada.password })).userId, email).toBe(userId)
    }
    await expect.poll(() => h.registered).toEqual(['boss@example.com'])
  })

  it('refuses an address that only becomes one after NFKC (a fullwidth @) as VALIDATION', async () => {
    using temp = tempSqlite()
    await using system = await startTestSystem({ services: harness(temp).services })
    const err = await rejectionOf(
      system.client<AuthService>('auth').register({ ...ada, email: 'eve\uFF20boss@example.com' }),
    )
    expect(err).toMatchObject({ code: 'VALIDATION', data: { errors: [{ path: '/email' }] } })
  })
})

describe('auth roles', () => {
  async function withAccounts(temp: TempSqlite) {
    const system = await startTestSystem({ services: harness(temp).services })
    const auth = system.client<AuthService>('auth')
    const boss = await auth.register({ ...ada, email: 'boss@example.com', name: 'Boss' })
    const eve = await auth.register({ ...ada, email: 'eve@example.com', name: 'Eve' })
    const as = async (tokens: { accessToken: string }) => ({
      principal: await principalOf(tokens.accessToken),
    })
    const rolesOf = async (email: string) =>
      (await principalOf((await auth.login({ email, password: ada.password })).accessToken)).roles
    return { system, auth, boss, eve, as, rolesOf }
  }

  it('refuses grantRole to a caller without the admin role as FORBIDDEN, and writes nothing', async () => {
    using temp = tempSqlite()
    const { system, auth, boss, eve, as, rolesOf } = await withAccounts(temp)
    await using _ = system
    const refused = await rejectionOf(auth.grantRole({ userId: eve.userId, role: 'admin' }, await as(eve)))
    expect(refused.code).toBe('FORBIDDEN')
    expect((await rejectionOf(auth.grantRole({ userId: boss.userId, role: 'admin' }))).code).toBe(
      'UNAUTHORIZED',
    )
    expect(await rolesOf('eve@example.com')).toEqual(['user'])
    expect(await rolesOf('boss@example.com')).toEqual(['user'])
  })

  it('lets an admin grant and revoke a role; tokens issued afterwards carry it', async () => {
    using temp = tempSqlite()
    const { system, auth, boss, eve, rolesOf } = await withAccounts(temp)
    await using _ = system
    const admin = { principal: { id: boss.userId, roles: ['user', 'admin'] } }
    expect(await auth.grantRole({ userId: eve.userId, role: 'admin' }, admin)).toEqual({
      userId: eve.userId,
      roles: ['user', 'admin'],
    })
    expect(await rolesOf('eve@example.com')).toEqual(['user', 'admin'])
    // Granting twice changes nothing; revoking takes it away again.
    expect((await auth.grantRole({ userId: eve.userId, role: 'admin' }, admin)).roles).toEqual([
      'user',
      'admin',
    ])
    expect((await auth.revokeRole({ userId: eve.userId, role: 'admin' }, admin)).roles).toEqual(['user'])
    expect(await rolesOf('eve@example.com')).toEqual(['user'])
    expect((await rejectionOf(auth.grantRole({ userId: 'nobody', role: 'admin' }, admin))).code).toBe(
      'NOT_FOUND',
    )
    expect(
      (await rejectionOf(auth.grantRole({ userId: eve.userId, role: 'root' as 'admin' }, admin))).code,
    ).toBe('VALIDATION')
  })
})
