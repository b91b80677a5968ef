import { TesseraError } from '../../errors/index.ts'
import { type LoadedCredential, loadCredential, type NodeCredential } from '../../identity/index.ts'
import type { Logger } from '../../observability/index.ts'

/**
 * How to authenticate with the NATS server. `nkeySeed` (a user nkey seed, `SU...`) is
 * what the runtime hands each unit (decision 0014): the server holds only its public
 * key and challenges the client to sign a nonce, so no secret crosses the wire.
 */
export type NatsCredentials =
  | { user: string; pass: string }
  | { token: string }
  | { credsFile: string }
  | { nkeySeed: string }

/** Options of `natsTransport`. */
export interface NatsTransportOptions {
  /** One or more server URLs, e.g. 'nats://127.0.0.1:4222'. */
  servers: string | string[]
  /**
   * Isolates clusters sharing one NATS server: nodes only see peers of the same
   * namespace. One subject token ([A-Za-z0-9_-]+). Default 'default'.
   */
  namespace?: string
  credentials?: NatsCredentials
  /**
   * This node's credential from the runtime. With it the node's HELLO and ANNOUNCE carry
   * its certificate, and a peer is known only once its certificate verifies against the
   * same authority, names the node id and unit it publishes under, and then only with the
   * services the certificate allows (decision 0014). Peers without one are ignored
   * (logged once). The certificate proves who a node id is; that a message under that id
   * really comes from it is the NATS server's job: give each unit its own login with the
   * permissions of `natsPermissions` (the runtime generates them).
   */
  credential?: NodeCredential
  /**
   * The unit this node belongs to, as a subject token (subjects.ts). Default: the
   * credential's unit, else '_'. Must match the credential's when both are given.
   */
  unit?: string
  /**
   * How often this node publishes a heartbeat, while it knows a peer that judges
   * liveness by silence (one that does not announce probing). Default 500 ms.
   */
  heartbeatMs?: number
  /**
   * Mean time between this node's probe rounds over its share of the peers (decision
   * 0023; jittered ±10%). A peer whose connection is gone is found within about this
   * long. Default 1250 ms.
   */
  probeMs?: number
  /**
   * A peer of an older version (one that does not announce probing) silent for this
   * long is reported gone. Default 1500 ms, so such a peer killed without a BYE leaves
   * within about 2 s. Peers that announce probing are never judged by silence.
   */
  peerTimeoutMs?: number
  /**
   * A peer this node awaits answers from (calls in flight) that has sent nothing for
   * this long is asked whether it is there (a liveness ping, decision 0030). Default 500 ms.
   */
  quietMs?: number
  /**
   * An asked peer that sends nothing back within this is reported gone, so its calls in
   * flight fail over instead of hanging to their deadlines (a frozen process, a host cut
   * off by a partition while the server still holds its connection). Default 750 ms: such
   * a peer leaves 1.25–1.75 s after it fell silent. Must exceed any event-loop stall a
   * healthy peer has, or its calls fail (and it is learnt again when it speaks).
   */
  answerMs?: number
  /**
   * Largest encoded message this node sends, in bytes. The server's max_payload
   * always applies too; the smaller one wins. Default: the server's.
   */
  maxPayload?: number
  /** Delay between reconnect attempts after the server went away. Default 250 ms. */
  reconnectTimeWaitMs?: number
  /**
   * How long messages to peers are held while the connection is down. Past it every
   * peer is reported gone, so calls fail fast with UNAVAILABLE until the server is back
   * and the peers are found again. Default 5000 ms. A held request is given up earlier,
   * as never delivered, when its deadline nears.
   */
  holdMs?: number
  /** Most bytes held for all peers together while unreachable; past it sends fail. Default 8 MiB. */
  holdBytes?: number
  /**
   * How long the non-idempotent calls in flight to a peer reported gone by "no responders"
   * (its server died; it is reconnecting to another) wait for it to come back, to be sent
   * again and answered, instead of failing at once (decision 0033). A peer that is really
   * dead fails them after this, with UNAVAILABLE. Default 2000 ms; 0 fails them at once.
   */
  resendGraceMs?: number
  /**
   * Outcomes of requests marked `once` kept for resends (decision 0033): at most this many
   * records, and this many bytes of answers. Defaults 100,000 and 16 MiB.
   */
  onceMaxEntries?: number
  onceMaxBytes?: number
  logger?: Logger
  /** Connection name shown by the server's monitoring; default 'tessera:<nodeId>'. */
  name?: string
}

/** Options with every default applied. */
export interface ResolvedNatsOptions {
  servers: string[]
  namespace: string
  credentials: NatsCredentials | undefined
  credential: LoadedCredential | undefined
  unit: string | undefined
  heartbeatMs: number
  peerTimeoutMs: number
  probeMs: number
  quietMs: number
  answerMs: number
  maxPayload: number
  reconnectTimeWaitMs: number
  holdMs: number
  holdBytes: number
  resendGraceMs: number
  onceMaxEntries: number
  onceMaxBytes: number
  name: string | undefined
}

function invalid(message: string): TesseraError {
  return new TesseraError('BAD_REQUEST', `natsTransport: ${message}`)
}

/** Applies defaults and rejects values that would break liveness detection. */
export function resolveOptions(options: NatsTransportOptions): ResolvedNatsOptions {
  const heartbeatMs = options.heartbeatMs ?? 500
  const peerTimeoutMs = options.peerTimeoutMs ?? 1500
  if (!(heartbeatMs > 0)) throw invalid(`heartbeatMs must be positive, got ${heartbeatMs}`)
  const probeMs = options.probeMs ?? 1250
  if (!(probeMs >= 10)) throw invalid(`probeMs must be at least 10, got ${probeMs}`)
  const quietMs = options.quietMs ?? 500
  const answerMs = options.answerMs ?? 750
  if (!(quietMs >= 20)) throw invalid(`quietMs must be at least 20, got ${quietMs}`)
  if (!(answerMs >= 20)) throw invalid(`answerMs must be at least 20, got ${answerMs}`)
  const holdMs = options.holdMs ?? 5000
  const holdBytes = options.holdBytes ?? 8 * 1024 * 1024
  if (!(holdMs >= 0)) throw invalid(`holdMs must not be negative, got ${holdMs}`)
  if (!(holdBytes >= 0)) throw invalid(`holdBytes must not be negative, got ${holdBytes}`)
  const resendGraceMs = options.resendGraceMs ?? 2000
  const onceMaxEntries = options.onceMaxEntries ?? 100_000
  const onceMaxBytes = options.onceMaxBytes ?? 16 * 1024 * 1024
  if (!(resendGraceMs >= 0)) throw invalid(`resendGraceMs must not be negative, got ${resendGraceMs}`)
  if (!(onceMaxEntries >= 0) || !(onceMaxBytes >= 0))
    throw invalid(`onceMaxEntries and onceMaxBytes must not be negative`)
  if (!(peerTimeoutMs > heartbeatMs)) {
    throw invalid(`peerTimeoutMs (${peerTimeoutMs}) must exceed heartbeatMs (${heartbeatMs})`)
  }
  const servers = Array.isArray(options.servers) ? options.servers : [options.servers]
  if (servers.length === 0) throw invalid('servers must name at least one NATS server')
  const credential = options.credential ? loadCredential(options.credential) : undefined
  if (credential && options.unit !== undefined && options.unit !== credential.identity.unit) {
    throw invalid(`unit ${options.unit} differs from the credential's unit ${credential.identity.unit}`)
  }
  return {
    servers,
    namespace: options.namespace ?? 'default',
    credentials: options.credentials,
    credential,
    unit: credential?.identity.unit ?? options.unit,
    heartbeatMs,
    peerTimeoutMs,
    probeMs,
    quietMs,
    answerMs,
    maxPayload: options.maxPayload ?? Number.POSITIVE_INFINITY,
    reconnectTimeWaitMs: options.reconnectTimeWaitMs ?? 250,
    holdMs,
    holdBytes,
    resendGraceMs,
    onceMaxEntries,
    onceMaxBytes,
    name: options.name,
  }
}
