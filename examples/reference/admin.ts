/**
 * `npm run reference:admin -- <email>`: the seeded bootstrap of the first admin. Roles
 * are never derived from the email someone registers (issue 9, finding 2); an admin
 * grants them over the API (`auth.grantRole`), and this script makes the first one by
 * writing the role straight into auth's database — which only someone who may already
 * read and write that database (the operator of the machine) can do, so no stranger can
 * race for it. See docs/decisions/0011-admin-bootstrap.md.
 *
 *   npm run reference:admin -- boss@example.com            grant admin to an existing account
 *   npm run reference:admin -- --revoke boss@example.com   take it away
 *   npm run reference:admin -- --list                      who is admin
 *
 * Register the account first (web page or `POST /auth/register`), check that it is yours
 * (the script prints its user id and when it registered; `GET /me` shows yours), then run
 * this; the role is in the account's tokens from its next login or refresh. The database
 * is the one `npm start` uses: `$TESSERA_DATA_DIR/auth.sqlite` (default
 * `examples/reference/.tessera/data`), or the `auth` schema in `DATABASE_URL`. The
 * system may be running meanwhile.
 */
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { openDatabase } from './lib/database.ts'
import { databaseConfigFromEnv } from './lib/database-config.ts'
import { normalizeEmail } from './lib/email.ts'
import { migrations } from './services/auth/db/migrations.ts'
import type { AuthDb } from './services/auth/db/schema.ts'
import { changeRole } from './services/auth/roles.ts'
import { parseRoles } from './services/auth/sessions.ts'

const DEFAULT_DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), '.tessera', 'data')
const USAGE = 'usage: npm run reference:admin -- <email> | --revoke <email> | --list'

/**
 * Runs one admin command against auth's database from `env`; resolves with the exit code
 * (0 done, 1 refused, 2 usage) and writes what it did through `say`. Nothing is written
 * when it refuses.
 *
 * @example
 * await runAdminCommand(['boss@example.com'], { TESSERA_DATA_DIR: '/srv/shop/data' }, console.log) // 0
 */
export async function runAdminCommand(
  args: string[],
  env: NodeJS.ProcessEnv,
  say: (line: string) => void,
): Promise<number> {
  const [first, second, ...rest] = args
  const command =
    first === '--list' && second === undefined
      ? { kind: 'list' as const }
      : first === '--revoke' && second !== undefined && rest.length === 0
        ? { kind: 'revoke' as const, email: second }
        : first !== undefined && !first.startsWith('-') && second === undefined
          ? { kind: 'grant' as const, email: first }
          : undefined
  if (!command) {
    say(USAGE)
    return 2
  }
  const config = databaseConfigFromEnv('auth', {
    ...env,
    TESSERA_DATA_DIR: resolve(env.TESSERA_DATA_DIR || DEFAULT_DATA_DIR),
  })
  const { db, close } = await openDatabase<AuthDb>('auth', migrations, config)
  try {
    if (command.kind === 'list') {
      const rows = await db
        .selectFrom('credentials')
        .select(['user_id', 'email', 'roles', 'created_at'])
        .where('status', '=', 'active')
        .execute()
      const admins = rows.filter((r) => parseRoles(r.roles).includes('admin'))
      if (admins.length === 0) say('no admins yet')
      for (const a of admins) say(`${a.email}  user ${a.user_id}  registered ${a.created_at}`)
      return 0
    }
    let email: string
    try {
      email = normalizeEmail(command.email)
    } catch {
      say(`"${command.email}" is not an email address`)
      return 1
    }
    const account = await db
      .selectFrom('credentials')
      .select(['user_id', 'roles', 'created_at'])
      .where('email', '=', email)
      .where('status', '=', 'active')
      .executeTakeFirst()
    if (!account) {
      say(
        `no account for ${email}: register it first (the web page or POST /auth/register), then run this again`,
      )
      return 1
    }
    const grant = command.kind === 'grant'
    if (parseRoles(account.roles).includes('admin') === grant) {
      say(`${email} is already ${grant ? '' : 'not '}an admin (user ${account.user_id})`)
      return 0
    }
    await changeRole(db, account.user_id, 'admin', grant, 'bootstrap', Date.now())
    say(
      `admin ${grant ? 'granted to' : 'revoked from'} ${email} (user ${account.user_id}, registered ${account.created_at}); ` +
        'in effect from its next login or token refresh',
    )
    return 0
  } finally {
    await close()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await runAdminCommand(process.argv.slice(2), process.env, (line) =>
    process.stdout.write(`${line}\n`),
  )
}
