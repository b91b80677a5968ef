import { execFile } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { fakeService, startTestSystem } from 'tessera/testkit'
import { describe, expect, it } from 'vitest'
import { runAdminCommand } from './admin.ts'
import { type AuthService, createAuthService } from './services/auth/service.ts'
import type { UsersService } from './services/users/service.ts'
import { principalOf, TEST_KEYS, type TempSqlite, tempSqlite } from './test/helpers.ts'

const password = 'correct horse battery'
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Auth on `temp` with two accounts; `rolesOf` logs in and reads the roles off the token. */
async function withAccounts(temp: TempSqlite) {
  const users = fakeService<UsersService>(
    'users',
    { create: (p) => ({ ...p, createdAt: new Date(0).toISOString() }) },
    { idempotent: ['create'] },
  )
  const auth = createAuthService({ database: temp.configFor('auth'), privateKey: TEST_KEYS.privateKey })
  const system = await startTestSystem({ services: [auth, users] })
  const client = system.client<AuthService>('auth')
  await client.register({ email: 'boss@example.com', password, name: 'Boss' })
  await client.register({ email: 'eve@example.com', password, name: 'Eve' })
  const rolesOf = async (email: string) =>
    (await principalOf((await client.login({ email, password })).accessToken)).roles
  return { system, rolesOf }
}

function run(args: string[], temp: TempSqlite) {
  const lines: string[] = []
  return runAdminCommand(args, { TESSERA_DATA_DIR: temp.dir }, (line) => lines.push(line)).then((code) => ({
    code,
    out: lines.join('\n'),
  }))
}

describe('the admin bootstrap (npm run reference:admin)', () => {
  it('makes exactly the named account an admin, by its email in any case', async () => {
    using temp = tempSqlite()
    const { system, rolesOf } = await withAccounts(temp)
    await using _ = system
    const granted = await run(['Boss@Example.com'], temp)
    expect(granted).toMatchObject({
      code: 0,
      out: expect.stringContaining('admin granted to boss@example.com'),
    })
    expect(await rolesOf('boss@example.com')).toEqual(['user', 'admin'])
    expect(await rolesOf('eve@example.com')).toEqual(['user'])
    expect((await run(['boss@example.com'], temp)).out).toContain('already')
    const listed = await run(['--list'], temp)
    expect(listed.out.split('\n').filter((l) => l.includes('@'))).toEqual([
      expect.stringContaining('boss@example.com'),
    ])
  })

  it('refuses an email nobody registered and writes nothing', async () => {
    using temp = tempSqlite()
    const { system, rolesOf } = await withAccounts(temp)
    await using _ = system
    const refused = await run(['nobody@example.com'], temp)
    expect(refused).toMatchObject({ code: 1, out: expect.stringContaining('no account') })
    expect((await run(['--list'], temp)).out).toContain('no admins')
    expect(await rolesOf('boss@example.com')).toEqual(['user'])
  })

  it('revokes with --revoke, and prints its usage for anything else', async () => {
    using temp = tempSqlite()
    const { system, rolesOf } = await withAccounts(temp)
    await using _ = system
    await run(['boss@example.com'], temp)
    expect((await run(['--revoke', 'boss@example.com'], temp)).code).toBe(0)
    expect(await rolesOf('boss@example.com')).toEqual(['user'])
    expect(await run([], temp)).toMatchObject({ code: 2, out: expect.stringContaining('usage') })
  })

  it('runs as the npm script does, on the data dir of the environment', async () => {
    using temp = tempSqlite()
    const { system } = await withAccounts(temp)
    await using _ = system
    const { stdout } = await promisify(execFile)(
      'npm',
      ['run', '--silent', 'reference:admin', '--', 'eve@example.com'],
      { cwd: root, env: { ...process.env, TESSERA_DATA_DIR: temp.dir } },
    )
    expect(stdout).toContain('admin granted to eve@example.com')
  }, 30_000)
})
