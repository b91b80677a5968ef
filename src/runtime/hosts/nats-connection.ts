import { readFile } from 'node:fs/promises'
import type { ConnectionOptions, NatsConnection } from 'nats'
import { TesseraError } from '../../errors/index.ts'
import type { TransportConfig } from '../config/index.ts'

/**
 * The agent's own NATS connection (KV and agent requests), with the config's servers and
 * credentials; it reconnects forever, like the transport's. Rejects with UNAVAILABLE when
 * no server answers the first connect.
 */
export async function connectAgent(transport: TransportConfig, name: string): Promise<NatsConnection> {
  if (transport.kind !== 'nats') throw new TesseraError('BAD_REQUEST', 'agents need the NATS transport')
  const nats = await import('nats')
  const c = transport.credentials
  const auth: Partial<ConnectionOptions> =
    c === undefined
      ? {}
      : 'token' in c
        ? { token: c.token }
        : 'user' in c
          ? { user: c.user, pass: c.pass }
          : { authenticator: nats.credsAuthenticator(await readFile(c.credsFile)) }
  try {
    return await nats.connect({
      servers: transport.servers,
      name,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...auth,
    })
  } catch (err) {
    throw new TesseraError(
      'UNAVAILABLE',
      `agent cannot reach NATS at ${String(transport.servers)}: ${(err as Error).message}`,
    )
  }
}
