import { readFile } from 'node:fs/promises'
import type { ConnectionOptions, NatsConnection } from 'nats'
import { TesseraError } from '../../errors/index.ts'
import { durableInboxPrefix } from './durable-permissions.ts'
import type { NatsCredentials, ResolvedNatsOptions } from './options.ts'
import { NO_UNIT } from './subjects.ts'

/**
 * Opens the one NATS connection of a transport. It reconnects forever on its own
 * (`maxReconnectAttempts: -1`), so a server restart never needs a service restart;
 * only the first connect can fail. Rejects with UNAUTHORIZED when the server refuses
 * the credentials, UNAVAILABLE when no server answers, BAD_REQUEST for an unreadable
 * creds file.
 */
export async function openConnection(options: ResolvedNatsOptions, name: string): Promise<NatsConnection> {
  const nats = await loadNats()
  const connectionOptions: ConnectionOptions = {
    servers: options.servers,
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectTimeWaitMs,
    reconnectJitter: Math.min(100, options.reconnectTimeWaitMs),
    // JetStream replies come back under the unit's own prefix, which its permissions allow.
    inboxPrefix: durableInboxPrefix(options.namespace, options.unit ?? NO_UNIT),
    ...(await credentialOptions(nats, options.credentials)),
  }
  try {
    return await nats.connect(connectionOptions)
  } catch (err) {
    throw connectError(err, options.servers)
  }
}

export type NatsModule = typeof import('nats')

/**
 * `nats` is an optional peer dependency: only systems on the NATS transport need it, so
 * it is loaded when the first connection opens. Missing, it is a BAD_REQUEST naming the
 * package to install rather than a module-resolution error from deep inside Tessera.
 */
export async function loadNats(): Promise<NatsModule> {
  try {
    return await import('nats')
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw err
    throw new TesseraError(
      'BAD_REQUEST',
      'the NATS transport needs the `nats` package: run `npm install nats`',
      undefined,
      { cause: err },
    )
  }
}

async function credentialOptions(
  nats: NatsModule,
  credentials: NatsCredentials | undefined,
): Promise<Partial<ConnectionOptions>> {
  if (credentials === undefined) return {}
  if ('token' in credentials) return { token: credentials.token }
  if ('user' in credentials) return { user: credentials.user, pass: credentials.pass }
  if ('nkeySeed' in credentials) {
    const seed = new TextEncoder().encode(credentials.nkeySeed)
    try {
      nats.nkeys.fromSeed(seed)
    } catch (err) {
      // Never the seed itself in the message: it is the login.
      throw new TesseraError('BAD_REQUEST', 'the NATS nkey seed is malformed', undefined, { cause: err })
    }
    return { authenticator: nats.nkeyAuthenticator(seed) }
  }
  try {
    return { authenticator: nats.credsAuthenticator(await readFile(credentials.credsFile)) }
  } catch (err) {
    throw new TesseraError('BAD_REQUEST', `cannot read NATS creds file ${credentials.credsFile}`, undefined, {
      cause: err,
    })
  }
}

function connectError(err: unknown, servers: string[]): TesseraError {
  const code = (err as { code?: unknown }).code
  const where = servers.join(', ')
  if (code === 'AUTHORIZATION_VIOLATION' || code === 'BAD_AUTHENTICATION' || code === 'BAD_CREDS') {
    return new TesseraError(
      'UNAUTHORIZED',
      `NATS server ${where} rejected the credentials (${code})`,
      undefined,
      {
        cause: err,
      },
    )
  }
  const message = err instanceof Error ? err.message : String(err)
  return new TesseraError('UNAVAILABLE', `cannot connect to NATS server ${where}: ${message}`, undefined, {
    cause: err,
  })
}
