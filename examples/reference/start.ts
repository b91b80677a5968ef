/**
 * `npm start`: the whole reference system on this machine. Every service instance runs
 * as its own process under the runtime (as `tessera up` would), each with its own SQLite
 * file under `examples/reference/.tessera/data` (or its own schema in `DATABASE_URL`),
 * migrated when it starts; a local fake rates API stands in for the outside one unless
 * `QUOTES_API_URL` is set; the HTTP gateway (the `gateway` unit, its own process too)
 * serves the API, its docs and the web page on a socket the supervisor holds.
 * The control API works as with `tessera up`, so
 * `npx tessera status -c examples/reference/tessera.config.ts` shows it.
 * Ctrl-C (SIGINT) or SIGTERM drains every instance, the gateway first.
 *
 * Environment: `PORT` (8080), `TESSERA_JWT_PRIVATE_KEY` / `TESSERA_JWT_PUBLIC_KEY` (else a key
 * pair generated once in `<data dir>/keys`), `TESSERA_DATA_DIR`, `DATABASE_URL`,
 * `QUOTES_API_URL`, and the gateway's (see gateway/options.ts). No variable grants roles:
 * the first admin is made with `npm run reference:admin -- <email>` (admin.ts).
 */
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import {
  type ControlServer,
  createSupervisor,
  describeEvent,
  ensurePrivateDir,
  removeControlState,
  type ServiceConfig,
  type Supervisor,
  type SupervisorEvent,
  startControlServer,
  writeControlState,
} from 'tessera/runtime'
import { type FakeQuotesApi, startFakeQuotesApi } from './fake-quotes-api.ts'
import { DEFAULT_PORT } from './gateway/options.ts'
import { ensureKeyFiles, keyDirFromEnv, signingKeysFromEnv } from './services/auth/keys.ts'
import config from './tessera.config.ts'

/** The folder of `tessera.config.ts`: entries, the state dir and the default data dir are relative to it. */
export const REFERENCE_ROOT = dirname(fileURLToPath(import.meta.url))

/** Variables handed on from `env` to every service process. */
const SERVICE_ENV = ['TESSERA_JWT_PUBLIC_KEY', 'DATABASE_URL'] as const
/** Variables handed on to auth's processes only: no other unit gets the signing key. */
const AUTH_ENV = ['TESSERA_JWT_PRIVATE_KEY'] as const
/** Variables handed on to the gateway's processes as well. */
const GATEWAY_ENV = ['RATE_LIMIT_PER_MINUTE', 'CORS_ORIGINS'] as const

export interface ReferenceOptions {
  /** Configuration (see the file comment). Default `process.env`. */
  env?: NodeJS.ProcessEnv
  /** Logs, control state and the transport's sockets. Default `examples/reference/.tessera`. */
  stateDir?: string
  /** Open the control API and write `<stateDir>/control.json` for the CLI. Default true. */
  control?: boolean
  /** One line per step of the start-up. */
  progress?: (line: string) => void
  onEvent?: (event: SupervisorEvent) => void
  /** Every line a service instance writes (also kept in `<stateDir>/logs`). */
  onLog?: (label: string, line: string) => void
  /** Called once a `tessera down` (control API) has stopped everything, e.g. to exit. */
  onDown?: () => void
}

export interface RunningReference extends AsyncDisposable {
  readonly supervisor: Supervisor
  /** Where the gateway unit listens, e.g. `http://127.0.0.1:8080`. */
  readonly url: string
  /** The local rates API, when `QUOTES_API_URL` was not set. */
  readonly quotesApi: FakeQuotesApi | undefined
  readonly control: ControlServer | undefined
  /** Where SQLite files go (unused with `DATABASE_URL`). */
  readonly dataDir: string
  /** Units that did not start (crash loop, or a dependency that did not). */
  readonly failed: string[]
  /** Drains every instance (the gateway first), closes the control API and the fake. Idempotent. */
  close(): Promise<void>
}

/**
 * Starts the reference system under the runtime, the gateway unit last. Rejects (after
 * stopping whatever had started) when the gateway cannot listen or the config is wrong;
 * units that fail to start are reported in `failed`, the rest keeps running.
 *
 * @example
 * await using ref = await startReference({ env: { ...process.env, PORT: '0' }, stateDir: tmp, control: false })
 * await fetch(`${ref.url}/products`)
 */
export async function startReference(options: ReferenceOptions = {}): Promise<RunningReference> {
  const env = options.env ?? process.env
  const progress = options.progress ?? (() => {})
  const stateDir = resolve(REFERENCE_ROOT, options.stateDir ?? '.tessera')
  const dataDir = resolve(env.TESSERA_DATA_DIR ?? join(stateDir, 'data'))

  let quotesApi: FakeQuotesApi | undefined
  let supervisor: Supervisor | undefined
  let control: ControlServer | undefined
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      await supervisor?.down(progress)
      await control?.close()
      if (control) await removeControlState(stateDir)
      await quotesApi?.close()
    })()
    return closing
  }

  try {
    let quotesUrl = env.QUOTES_API_URL
    if (!quotesUrl) {
      quotesApi = await startFakeQuotesApi()
      quotesUrl = quotesApi.url
      progress(`fake quotes API on ${quotesUrl} (set QUOTES_API_URL to use another)`)
    }
    if (env.TESSERA_ADMIN_EMAILS) {
      // It used to make whoever registered such an email first an admin (issue 9): say loudly that it no longer does.
      progress(
        'WARNING: TESSERA_ADMIN_EMAILS is ignored; make an admin with `npm run reference:admin -- <email>`',
      )
    }
    const shared: Record<string, string> = {
      TESSERA_DATA_DIR: dataDir,
      QUOTES_API_URL: quotesUrl,
      // Not handed on: an old value in the launcher's environment must not reach auth.
      TESSERA_ADMIN_EMAILS: '',
    }
    // Set even when empty (= unset for the services): the launcher's own environment, which
    // every instance inherits, must not override what `env` says.
    for (const name of SERVICE_ENV) shared[name] = env[name] ?? ''
    for (const name of AUTH_ENV) shared[name] = ''
    const authEnv: Record<string, string> = { ...shared }
    for (const name of AUTH_ENV) authEnv[name] = env[name] ?? ''
    if (authEnv.TESSERA_JWT_PRIVATE_KEY && !shared.TESSERA_JWT_PUBLIC_KEY) {
      // The verifiers get the public half only.
      shared.TESSERA_JWT_PUBLIC_KEY = (await signingKeysFromEnv(authEnv)).publicKey.export({
        type: 'spki',
        format: 'pem',
      }) as string
    }
    const port = env.PORT === undefined || env.PORT === '' ? DEFAULT_PORT : Number(env.PORT)
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      throw new TypeError(`PORT must be 0..65535, got "${env.PORT}"`)
    const gatewayEnv: Record<string, string> = { ...shared, PORT: String(port) }
    for (const name of GATEWAY_ENV) gatewayEnv[name] = env[name] ?? ''
    const services: Record<string, ServiceConfig> = Object.fromEntries(
      Object.entries(config.services as Record<string, ServiceConfig>).map(([name, spec]) => [
        name,
        name === 'gateway'
          ? {
              ...spec,
              env: { ...spec.env, ...gatewayEnv },
              listen: { port, host: env.GATEWAY_HOST || '127.0.0.1' },
            }
          : { ...spec, env: { ...spec.env, ...(name === 'auth' ? authEnv : shared) } },
      ]),
    )
    progress(
      env.DATABASE_URL ? 'data: PostgreSQL (DATABASE_URL), one schema per service' : `data: ${dataDir}`,
    )
    // Both this user's only (0700), also outside `.tessera` and whatever the umask: the
    // data folder holds the databases and the token keys.
    ensurePrivateDir(stateDir)
    if (!env.DATABASE_URL) ensurePrivateDir(dataDir)
    if (!authEnv.TESSERA_JWT_PRIVATE_KEY && !shared.TESSERA_JWT_PUBLIC_KEY) {
      // Made here once rather than by the first instance to ask (which would be safe too).
      await ensureKeyFiles(keyDirFromEnv({ TESSERA_DATA_DIR: dataDir }))
      progress(
        `DEVELOPMENT KEYS: access tokens are signed with a key pair generated for this machine in ${keyDirFromEnv({ TESSERA_DATA_DIR: dataDir })} (0600); set TESSERA_JWT_PRIVATE_KEY and TESSERA_JWT_PUBLIC_KEY to use your own`,
      )
    }

    supervisor = createSupervisor({
      config: { ...config, services, stateDir },
      root: REFERENCE_ROOT,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.onLog ? { onLog: options.onLog } : {}),
    })
    let gatewayProblem = ''
    const { failed } = await supervisor.up((line) => {
      if (line.startsWith('gateway: ')) gatewayProblem = line
      progress(line)
    })
    const address = supervisor.address('gateway')
    if (!address || failed.includes('gateway')) {
      const err = new Error(`the gateway did not start: ${gatewayProblem}`) as NodeJS.ErrnoException
      if (gatewayProblem.includes('EADDRINUSE')) err.code = 'EADDRINUSE'
      throw err
    }

    if (options.control ?? true) {
      control = await startControlServer({
        supervisor,
        // `tessera down` drained the services; close the rest and let the launcher exit.
        onDown: () => void close().then(() => options.onDown?.()),
      })
      await writeControlState({
        pid: process.pid,
        system: config.name,
        port: control.port,
        token: control.token,
        stateDir: supervisor.stateDir,
        logsDir: supervisor.logsDir,
      })
    }

    const running: RunningReference = {
      supervisor,
      url: `http://${address.host}:${address.port}`,
      quotesApi,
      control,
      dataDir,
      failed,
      close,
      [Symbol.asyncDispose]: close,
    }
    return running
  } catch (err) {
    await close()
    throw err
  }
}

async function main(): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`)
  const started = Date.now()
  say('tessera reference system: starting (Ctrl-C to stop)')
  let ref: RunningReference
  try {
    ref = await startReference({
      progress: (line) => say(`  ${line}`),
      onEvent: (event) => {
        if (event.type !== 'progress') say(`  ${describeEvent(event)}`)
      },
      onDown: () => {
        say('stopped by tessera down')
        process.exit(0)
      },
    })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'EADDRINUSE') say(`could not start: the port is in use (${e.message}); set PORT=…`)
    else say(`could not start: ${e.stack ?? e.message}`)
    process.exit(1)
  }
  const config = join('examples', 'reference', 'tessera.config.ts')
  const logsHint = `npx tessera logs <service> -f -c ${config}`
  say('')
  say(`up in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  if (ref.failed.length > 0) say(`NOT running: ${ref.failed.join(', ')} (see ${logsHint})`)
  say(`  web page      ${ref.url}/`)
  say(`  API docs      ${ref.url}/docs   (OpenAPI: ${ref.url}/openapi.json)`)
  if (ref.control) {
    const tokenFile = join(ref.supervisor.stateDir, 'control.json')
    say(
      `  dashboard     http://127.0.0.1:${ref.control.port}/   (log in with the "token" field of ${tokenFile})`,
    )
    say(`  control API   http://127.0.0.1:${ref.control.port}   (the same token, as a bearer token)`)
    say(
      `  metrics       http://127.0.0.1:${ref.control.port}/metrics   (Prometheus text, the same bearer token)`,
    )
    say(`                npx tessera status -c ${config}`)
  }
  say(`  logs          ${logsHint}`)
  say('  first admin   npm run reference:admin -- <email of an account you registered>')

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    say(`${signal}: draining the gateway, then the services…`)
    void ref.close().then(
      () => {
        say('stopped')
        process.exit(0)
      },
      (err: unknown) => {
        say(`stopping failed: ${(err as Error).message}`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main()
