import { startTestSystem } from 'tessera/testkit'
import { describe, expect, it } from 'vitest'
import { rejectionOf, type TempSqlite, tempSqlite } from '../../test/helpers.ts'
import { createUsersService, type UsersService } from './service.ts'

describe('users', () => {
  const start = (temp: TempSqlite) =>
    startTestSystem({ services: [createUsersService({ database: temp.configFor('users') })] })
  const ada = { id: 'u-ada', email: 'Ada@Example.com', name: 'Ada' }
  const asAda = { principal: { id: 'u-ada', roles: ['user'] } }

  it('creates a profile once; repeating the same create returns it unchanged', async () => {
    using temp = tempSqlite()
    await using system = await start(temp)
    const users = system.client<UsersService>('users')
    const first = await users.create(ada)
    expect(first).toMatchObject({ id: 'u-ada', email: 'ada@example.com', name: 'Ada' })
    expect(await users.create(ada)).toEqual(first)
  })

  it('refuses a second profile with the same email as CONFLICT', async () => {
    using temp = tempSqlite()
    await using system = await start(temp)
    const users = system.client<UsersService>('users')
    await users.create(ada)
    const err = await rejectionOf(users.create({ ...ada, id: 'u-other' }))
    expect(err.code).toBe('CONFLICT')
  })

  it('refuses a second profile for the same address in another case or Unicode form (NFKC)', async () => {
    using temp = tempSqlite()
    await using system = await start(temp)
    const users = system.client<UsersService>('users')
    expect((await users.create({ ...ada, email: '\uFF21da@Example.com' })).email).toBe('ada@example.com')
    expect((await rejectionOf(users.create({ ...ada, id: 'u-other', email: 'ADA@example.com' }))).code).toBe(
      'CONFLICT',
    )
  })

  it('lets a user read only their own profile, unless they are an admin', async () => {
    using temp = tempSqlite()
    await using system = await start(temp)
    const users = system.client<UsersService>('users')
    await users.create(ada)
    await users.create({ id: 'u-grace', email: 'grace@example.com', name: 'Grace' })
    expect((await users.get({ id: 'u-ada' }, asAda)).name).toBe('Ada')
    expect((await users.me({}, asAda)).id).toBe('u-ada')
    expect((await rejectionOf(users.get({ id: 'u-grace' }, asAda))).code).toBe('FORBIDDEN')
    const admin = { principal: { id: 'root', roles: ['admin'] } }
    expect((await users.get({ id: 'u-grace' }, admin)).name).toBe('Grace')
    expect((await rejectionOf(users.get({ id: 'nobody' }, admin))).code).toBe('NOT_FOUND')
  })

  it('answers UNAUTHORIZED without a principal', async () => {
    using temp = tempSqlite()
    await using system = await start(temp)
    expect((await rejectionOf(system.client<UsersService>('users').me({}))).code).toBe('UNAUTHORIZED')
  })

  it('rejects a malformed email as VALIDATION naming the field, storing nothing', async () => {
    using temp = tempSqlite()
    await using system = await start(temp)
    const users = system.client<UsersService>('users')
    const err = await rejectionOf(users.create({ ...ada, email: 'not an email' }))
    expect(err.code).toBe('VALIDATION')
    expect(err.data.errors[0].path).toBe('/email')
    expect((await rejectionOf(users.get({ id: 'u-ada' }, asAda))).code).toBe('NOT_FOUND')
  })
})
