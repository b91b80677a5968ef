import { fakeService, startTestSystem } from 'tessera/testkit'
import { describe, expect, it } from 'vitest'
import { rejectionOf, TEST_KEYS, type TempSqlite, tempSqlite } from '../../test/helpers.ts'
import type { UsersService } from '../users/service.ts'
import { type AuthService, createAuthService } from './service.ts'

const ada = { email: 'ada@example.com', password: 'correct horse battery', name: 'Ada' }
const wrong = { email: ada.email, password: 'not the password' }
const right = { email: ada.email, password: ada.password }

/** Auth on `temp`'s database with a clock the test moves (no sleeps). */
async function start(temp: TempSqlite, clock: { now: number }) {
  const users = fakeService<UsersService>(
    'users',
    { create: (p) => ({ ...p, createdAt: new Date(0).toISOString() }) },
    { idempotent: ['create'] },
  )
  const auth = createAuthService({
    database: temp.configFor('auth'),
    privateKey: TEST_KEYS.privateKey,
    now: () => clock.now,
  })
  const system = await startTestSystem({ services: [auth, users] })
  return { system, auth: system.client<AuthService>('auth') }
}

/** The code of a login's rejection, and the wait it asks for when RATE_LIMITED. */
async function attempt(auth: Awaited<ReturnType<typeof start>>['auth'], credentials: typeof right) {
  const err = await rejectionOf(auth.login(credentials))
  return err.code === 'RATE_LIMITED' ? `429 ${err.data.retryAfterSec}s` : String(err.code)
}

describe('login throttling per account (issue 9, finding 6)', () => {
  it('lets 5 failures through, then backs off 1 s, 2 s, 4 s, refusing even the right password meanwhile', async () => {
    using temp = tempSqlite()
    const clock = { now: Date.parse('2030-01-01T00:00:00Z') }
    const { system, auth } = await start(temp, clock)
    await using _ = system
    await auth.register(ada)
    const codes: string[] = []
    for (let i = 0; i < 5; i++) codes.push(await attempt(auth, wrong))
    expect(codes).toEqual(Array(5).fill('UNAUTHORIZED'))
    expect(await attempt(auth, wrong)).toBe('429 1s')
    expect(await attempt(auth, right)).toBe('429 1s')
    clock.now += 1_000
    expect(await attempt(auth, wrong)).toBe('UNAUTHORIZED')
    expect(await attempt(auth, right)).toBe('429 2s')
    clock.now += 2_000
    expect(await attempt(auth, wrong)).toBe('UNAUTHORIZED')
    expect(await attempt(auth, right)).toBe('429 4s')
    clock.now += 3_999
    expect(await attempt(auth, right)).toBe('429 1s')
    clock.now += 1
    // The lock is over: the right password logs in and forgets the failures.
    expect((await auth.login(right)).userId).toBeDefined()
    for (let i = 0; i < 5; i++) expect(await attempt(auth, wrong)).toBe('UNAUTHORIZED')
    expect(await attempt(auth, wrong)).toBe('429 1s')
  })

  it('caps the backoff at 15 minutes: a lock, never a permanent one', async () => {
    using temp = tempSqlite()
    const clock = { now: Date.parse('2030-01-01T00:00:00Z') }
    const { system, auth } = await start(temp, clock)
    await using _ = system
    await auth.register(ada)
    const waits: number[] = []
    for (let i = 0; i < 30; i++) {
      const code = await attempt(auth, wrong)
      if (code.startsWith('429')) {
        const sec = Number(code.split(' ')[1]!.replace('s', ''))
        waits.push(sec)
        clock.now += sec * 1_000
      }
    }
    expect(Math.max(...waits)).toBe(900)
    expect(waits.slice(0, 4)).toEqual([1, 2, 4, 8])
    clock.now += 900_000
    expect((await auth.login(right)).userId).toBeDefined()
  })

  it('throttles an unknown email the same way, so a 429 does not reveal which accounts exist', async () => {
    using temp = tempSqlite()
    const clock = { now: Date.parse('2030-01-01T00:00:00Z') }
    const { system, auth } = await start(temp, clock)
    await using _ = system
    const nobody = { email: 'nobody@example.com', password: 'whatever pass' }
    for (let i = 0; i < 5; i++) expect(await attempt(auth, nobody)).toBe('UNAUTHORIZED')
    expect(await attempt(auth, { ...nobody, email: 'NoBody@Example.com' })).toBe('429 1s')
  })

  it('counts concurrent attempts one by one: of 12 at once, exactly 5 are checked', async () => {
    using temp = tempSqlite()
    const clock = { now: Date.parse('2030-01-01T00:00:00Z') }
    const { system, auth } = await start(temp, clock)
    await using _ = system
    await auth.register(ada)
    const codes = await Promise.all(Array.from({ length: 12 }, () => attempt(auth, wrong)))
    expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(5)
    expect(codes.filter((c) => c.startsWith('429'))).toHaveLength(7)
  })

  it('keeps the count in the database: a restarted auth still refuses', async () => {
    using temp = tempSqlite()
    const clock = { now: Date.parse('2030-01-01T00:00:00Z') }
    {
      const { system, auth } = await start(temp, clock)
      await using _ = system
      await auth.register(ada)
      for (let i = 0; i < 5; i++) await attempt(auth, wrong)
    }
    const { system, auth } = await start(temp, clock)
    await using _ = system
    expect(await attempt(auth, right)).toBe('429 1s')
  })
})
